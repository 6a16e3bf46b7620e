package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/meshintent/meshintent/pkg/canonical"
)

// Cache keeps the kustomize stage of renders: for each root, path and
// AllowRemoteBases, the objects kustomize (or the fast path) built and a
// record of everything that build looked at: the content hash of each file
// it read, the result of each stat, directory listing, glob and symlink
// resolution. A later render with the same key replays the record against
// the disk and reuses the objects only when every answer is the same, so a
// hit gives exactly what a fresh build would; intents are still decoded and
// expanded on every render (that is cheap and parallel). A build that
// fetched remote bases never hits (its clone directories are new each
// time).
//
// When the record does not hold (a file changed) and the fast path builds
// again, it still reuses the parsed objects of each file whose content hash
// is unchanged, so a commit that touches a few files parses only those.
//
// It holds one entry per key, the latest; it is safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	hits    int
	misses  int
}

// NewCache returns an empty Cache.
func NewCache() *Cache {
	return &Cache{entries: map[cacheKey]*cacheEntry{}}
}

// Stats returns the number of renders that reused a build and that did not.
func (c *Cache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

type cacheKey struct {
	root, dir string
	remote    bool
}

type cacheEntry struct {
	record map[recordKey]string // nil when the build cannot be reused
	objs   []packed             // get hands out decoded copies
	// parsed are the fast path's files by source, parsed, for the next
	// build of the key when the whole build cannot be reused.
	parsed map[string]parsedFile
}

// parsedFile is the objects of a resource file with the given content hash.
type parsedFile struct {
	sum  [sha256.Size]byte
	objs []packed
}

// packed is a built object in the canonical encoding. The cache lives as
// long as the controller, so it keeps objects in this form: about a tenth
// of the memory of the maps, and decoding gives the deep copy a cache must
// hand out anyway.
type packed struct {
	obj    []byte
	source string
	line   int
}

// pack encodes objs; ok is false when an object holds a value that is not
// JSON content, which then is not cached.
func pack(objs []built) (ps []packed, ok bool) {
	// One allocation for all: the cache lives long, and many small ones
	// would be spread over pages the render's garbage leaves behind.
	ps = make([]packed, len(objs))
	var buf []byte
	ends := make([]int, len(objs))
	for i, b := range objs {
		var err error
		if buf, err = canonical.Append(buf, b.obj); err != nil {
			return nil, false
		}
		ends[i] = len(buf)
	}
	buf = bytes.Clone(buf)
	start := 0
	for i, b := range objs {
		ps[i] = packed{obj: buf[start:ends[i]:ends[i]], source: b.source, line: b.line}
		start = ends[i]
	}
	return ps, true
}

// unpack decodes ps; ok is false when one does not decode (which would be
// a bug), so that the caller builds afresh.
func unpack(ps []packed) (objs []built, ok bool) {
	objs = make([]built, len(ps))
	for i, p := range ps {
		v, err := canonical.Decode(p.obj)
		m, isMap := v.(map[string]any)
		if err != nil || !isMap {
			return nil, false
		}
		objs[i] = built{obj: m, source: p.source, line: p.line}
	}
	return objs, true
}

// get returns a deep copy of the key's build when its record still holds,
// and else the parsed files of the last fast build of the key (or nil).
func (c *Cache) get(key cacheKey, fsys *confinedFS) ([]built, map[string]parsedFile, bool) {
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	var objs []built
	ok := e != nil && e.record != nil && replay(e.record, fsys)
	if ok {
		objs, ok = unpack(e.objs)
	}
	c.mu.Lock()
	if ok {
		c.hits++
	} else {
		c.misses++
	}
	c.mu.Unlock()
	switch {
	case ok:
		return objs, nil, true
	case e == nil:
		return nil, nil, false
	default:
		return nil, e.parsed, false
	}
}

// put stores a build; parsed may be nil (a kustomize build).
func (c *Cache) put(key cacheKey, rec *recording, objs []built, parsed map[string]parsedFile) {
	e := &cacheEntry{parsed: parsed}
	if rec != nil && !rec.uncacheable {
		// Encoded now: the render goes on to label and annotate its objects.
		if ps, ok := pack(objs); ok {
			e.record, e.objs = rec.seen, ps
		}
	}
	c.mu.Lock()
	c.entries[key] = e
	c.mu.Unlock()
}

// recording is what a build looked at in its confinedFS.
type recording struct {
	mu          sync.Mutex
	seen        map[recordKey]string
	uncacheable bool
}

type recordKey struct {
	op   byte
	path string
}

const (
	opResolve byte = iota
	opRead
	opStat
	opReadDir
	opGlob
	opListDir
)

func (r *recording) note(op byte, path, res string) {
	r.mu.Lock()
	r.seen[recordKey{op, path}] = res
	r.mu.Unlock()
}

func (c *confinedFS) startRecording() { c.rec = &recording{seen: map[recordKey]string{}} }
func (c *confinedFS) stopRecording()  { c.rec = nil }
func (c *confinedFS) recorded() *recording {
	return c.rec
}

// replay asks the disk the recorded questions again and reports whether
// every answer is the same.
func replay(record map[recordKey]string, fsys *confinedFS) bool {
	fresh := &confinedFS{root: fsys.root, cloneDir: fsys.cloneDir, disk: fsys.disk}
	for k, want := range record {
		var got string
		switch k.op {
		case opResolve:
			got = result(fresh.resolveAbs(k.path))
		case opRead:
			got = contentResult(os.ReadFile(k.path))
		case opStat:
			got = statResult(os.Stat(k.path))
		case opReadDir:
			names, err := fresh.disk.ReadDir(k.path)
			got = result(strings.Join(names, "\x00"), err)
		case opListDir:
			fresh.rec = &recording{seen: map[recordKey]string{}}
			_, _ = fresh.listDir(k.path)
			got = fresh.rec.seen[k]
			fresh.rec = nil
		case opGlob:
			matches, err := fresh.disk.Glob(k.path)
			got = result(strings.Join(matches, "\x00"), err)
		}
		if got != want {
			return false
		}
	}
	return true
}

func result(s string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

func contentResult(b []byte, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func statResult(st fs.FileInfo, err error) string {
	switch {
	case err != nil:
		return "error: " + err.Error()
	case st.IsDir():
		return "dir"
	default:
		return "file"
	}
}

package render

import (
	"sync"

	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
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
	record *rootfs.Recording // nil when the build cannot be reused
	objs   []fastpath.Packed // get hands out decoded copies
	// parsed are the fast path's files by source, parsed, for the next
	// build of the key when the whole build cannot be reused.
	parsed map[string]fastpath.ParsedFile
}

// get returns a deep copy of the key's build when its record still holds,
// and else the parsed files of the last fast build of the key (or nil).
func (c *Cache) get(key cacheKey, fsys *rootfs.Confined) ([]fastpath.Object, map[string]fastpath.ParsedFile, bool) {
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	var objs []fastpath.Object
	ok := e != nil && e.record != nil && e.record.Holds(fsys)
	if ok {
		objs, ok = fastpath.Unpack(e.objs)
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
func (c *Cache) put(key cacheKey, rec *rootfs.Recording, objs []fastpath.Object, parsed map[string]fastpath.ParsedFile) {
	e := &cacheEntry{parsed: parsed}
	if rec != nil && rec.Cacheable() {
		// Encoded now: the render goes on to label and annotate its objects.
		if ps, ok := fastpath.Pack(objs); ok {
			e.record, e.objs = rec, ps
		}
	}
	c.mu.Lock()
	c.entries[key] = e
	c.mu.Unlock()
}

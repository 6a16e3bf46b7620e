package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// Recording is what a build looked at in its Confined file system: the
// content hash of each file it read, the result of each stat, directory
// listing, glob and symlink resolution.
type Recording struct {
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

func (r *Recording) note(op byte, path, res string) {
	r.mu.Lock()
	r.seen[recordKey{op, path}] = res
	r.mu.Unlock()
}

// StartRecording makes c record what it is asked from now on (see Recorded).
func (c *Confined) StartRecording() { c.rec = &Recording{seen: map[recordKey]string{}} }

// StopRecording stops the recording.
func (c *Confined) StopRecording() { c.rec = nil }

// Recorded is what c was asked since StartRecording, nil when not recording.
func (c *Confined) Recorded() *Recording {
	return c.rec
}

// Cacheable reports whether the recording is worth keeping: a build that
// walked directories is not recorded.
func (r *Recording) Cacheable() bool {
	return !r.uncacheable
}

// Holds asks the disk the recorded questions again, as fsys (a file system
// of the same root) would answer them, and reports whether every answer is
// the same.
func (r *Recording) Holds(fsys *Confined) bool {
	fresh := &Confined{root: fsys.root, cloneDir: fsys.cloneDir, disk: fsys.disk}
	for k, want := range r.seen {
		var got string
		switch k.op {
		case opResolve:
			got = result(fresh.ResolveAbs(k.path))
		case opRead:
			got = contentResult(os.ReadFile(k.path))
		case opStat:
			got = statResult(os.Stat(k.path))
		case opReadDir:
			names, err := fresh.disk.ReadDir(k.path)
			got = result(strings.Join(names, "\x00"), err)
		case opListDir:
			fresh.rec = &Recording{seen: map[recordKey]string{}}
			_, _ = fresh.ListDir(k.path)
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

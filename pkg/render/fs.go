package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// confinedFS is the kustomize file system of a build: the disk, read-only,
// with every path checked to lie inside the repository root once symlinks
// are resolved. When remote bases are allowed, kustomize's clone
// directories (os.TempDir()/kustomize-*) are readable too.
type confinedFS struct {
	root      string // absolute, symlinks resolved
	cloneDir  string // prefix of kustomize's clone directories, "" when remote bases are refused
	disk      filesys.FileSystem
	overrides map[string][]byte // absolute path → content served instead of the file's
	rec       *recording        // what the build looked at, for the Cache; nil when not recording
}

var _ filesys.FileSystem = (*confinedFS)(nil)

var errReadOnly = errors.New("the repository is read-only during a render")

func newConfinedFS(root string, allowRemote bool) *confinedFS {
	c := &confinedFS{root: root, disk: filesys.MakeFsOnDisk()}
	if allowRemote {
		tmp := os.TempDir()
		if t, err := filepath.EvalSymlinks(tmp); err == nil {
			tmp = t
		}
		c.cloneDir = filepath.Join(tmp, "kustomize-")
	}
	return c
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// resolve returns path made absolute with its symlinks resolved, or an error
// when that lies outside the repository. A path that does not exist yet is
// resolved through its closest existing parent.
func (c *confinedFS) resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	resolved, err := c.resolveAbs(abs)
	if c.rec != nil {
		c.rec.note(opResolve, abs, result(resolved, err))
	}
	return resolved, err
}

// errLinkLeaves says a path goes through a symlink that leads outside the
// repository.
var errLinkLeaves = errors.New("a symlink leads outside the repository")

func (c *confinedFS) resolveAbs(abs string) (string, error) {
	resolved, err := evalExisting(abs)
	if err != nil {
		if link, target, ok := c.escapingLink(abs); ok {
			return "", &fs.PathError{Op: "open", Path: link, Err: &escapingLinkError{target: target}}
		}
		return "", err
	}
	if within(c.root, resolved) || (c.cloneDir != "" && strings.HasPrefix(resolved, c.cloneDir)) {
		return resolved, nil
	}
	if within(c.root, abs) {
		return "", &fs.PathError{Op: "open", Path: c.rel(abs), Err: errLinkLeaves}
	}
	return "", &fs.PathError{Op: "open", Path: abs, Err: errors.New("outside the repository")}
}

// escapingLinkError is errLinkLeaves for a symlink of a Git tree that
// pkg/source made unfollowable; target is where the committed link led.
type escapingLinkError struct{ target string }

func (e *escapingLinkError) Error() string {
	return fmt.Sprintf("%v (committed as a link to %q)", errLinkLeaves, e.target)
}

func (e *escapingLinkError) Is(target error) bool { return target == errLinkLeaves }

// escapingLinkPrefix is pkg/source's EscapingLinkPrefix: a tree fetched from
// Git has a committed symlink that leads outside the repository replaced by
// a link to this unfollowable target (below /dev/null), followed by the
// original target, path-escaped. (pkg/source is not imported for one
// string; a test checks that both agree.)
const escapingLinkPrefix = "/dev/null/meshintent-symlink-leaves-the-repository/to:"

// escapingLink finds, on the way from the root to abs, a symlink that
// pkg/source made unfollowable because it led outside the repository, and
// returns it (repo-relative) and its original target.
func (c *confinedFS) escapingLink(abs string) (link, target string, ok bool) {
	if !within(c.root, abs) || abs == c.root {
		return "", "", false
	}
	p := c.root
	for _, part := range strings.Split(c.rel(abs), "/") {
		p = filepath.Join(p, part)
		st, err := os.Lstat(p)
		if err != nil {
			return "", "", false
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", "", false
		}
		if rest, found := strings.CutPrefix(t, escapingLinkPrefix); found {
			if orig, err := url.PathUnescape(rest); err == nil {
				rest = orig
			}
			return c.rel(p), rest, true
		}
	}
	return "", "", false
}

// evalExisting is filepath.EvalSymlinks for a path whose tail may not exist.
func evalExisting(abs string) (string, error) {
	resolved, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return resolved, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	parent := filepath.Dir(abs)
	if parent == abs {
		return abs, nil
	}
	p, err := evalExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(p, filepath.Base(abs)), nil
}

// rel is path relative to the root, slash-separated, for messages and sources.
func (c *confinedFS) rel(path string) string {
	r, err := filepath.Rel(c.root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

func (c *confinedFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (c *confinedFS) Mkdir(string) error                  { return errReadOnly }
func (c *confinedFS) MkdirAll(string) error               { return errReadOnly }
func (c *confinedFS) WriteFile(string, []byte) error      { return errReadOnly }

// RemoveAll only removes kustomize's own clones (its cleanup of remote bases).
func (c *confinedFS) RemoveAll(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if c.cloneDir != "" && strings.HasPrefix(abs, c.cloneDir) {
		return os.RemoveAll(abs)
	}
	return errReadOnly
}

func (c *confinedFS) Open(path string) (filesys.File, error) {
	p, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	if c.rec != nil {
		b, err := os.ReadFile(p)
		c.rec.note(opRead, p, contentResult(b, err))
	}
	return c.disk.Open(p)
}

func (c *confinedFS) IsDir(path string) bool {
	st, err := c.stat(path)
	return err == nil && st.IsDir()
}

// stat is os.Stat of a confined path.
func (c *confinedFS) stat(path string) (fs.FileInfo, error) {
	p, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if c.rec != nil {
		c.rec.note(opStat, p, statResult(st, err))
	}
	return st, err
}

func (c *confinedFS) ReadDir(path string) ([]string, error) {
	p, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	names, err := c.disk.ReadDir(p)
	if c.rec != nil {
		c.rec.note(opReadDir, p, result(strings.Join(names, "\x00"), err))
	}
	return names, err
}

func (c *confinedFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if _, err := c.stat(path); err != nil {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", path, err)
	}
	p, err := c.resolve(path)
	if err != nil {
		return "", "", err
	}
	return c.disk.CleanedAbs(p)
}

func (c *confinedFS) Exists(path string) bool {
	_, err := c.stat(path)
	return err == nil
}

func (c *confinedFS) Glob(pattern string) ([]string, error) {
	matches, err := c.disk.Glob(pattern)
	if c.rec != nil {
		c.rec.note(opGlob, pattern, result(strings.Join(matches, "\x00"), err))
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if _, err := c.resolve(m); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// listDir lists a resolved directory: each name's type, as the directory
// entry gives it (a symlink is a symlink).
func (c *confinedFS) listDir(dir string) (map[string]fs.FileMode, error) {
	entries, err := os.ReadDir(dir)
	out := make(map[string]fs.FileMode, len(entries))
	var b strings.Builder
	for _, e := range entries {
		out[e.Name()] = e.Type()
		if c.rec != nil {
			fmt.Fprintf(&b, "%s %d\x00", e.Name(), e.Type())
		}
	}
	if c.rec != nil {
		c.rec.note(opListDir, dir, result(b.String(), err))
	}
	return out, err
}

// fileTooLarge is the error for a file larger than MaxFileSize.
type fileTooLarge struct{ size int64 }

func (e *fileTooLarge) Error() string {
	return fmt.Sprintf("the file is %.1f MiB, more than the %d MiB a file may be", float64(e.size)/(1<<20), MaxFileSize>>20)
}

// readResolved reads a file whose path is already resolved and checked (see
// resolve), refusing a symlink that would have replaced it since.
func (c *confinedFS) readResolved(path string) ([]byte, error) {
	return c.readCapped(path, os.O_RDONLY|syscall.O_NOFOLLOW)
}

// readCapped reads a file of at most MaxFileSize bytes, without reading a
// larger one.
func (c *confinedFS) readCapped(path string, flag int) ([]byte, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b []byte
	st, err := f.Stat()
	switch {
	case err != nil:
	case st.Size() > MaxFileSize:
		err = &fileTooLarge{size: st.Size()}
	default:
		b = make([]byte, 0, st.Size()+1) // +1: io.ReadAll's EOF check needs no second buffer
		b, err = readAllInto(f, b)
		if err == nil && len(b) > MaxFileSize {
			b, err = nil, &fileTooLarge{size: int64(len(b))}
		}
	}
	if c.rec != nil {
		c.rec.note(opRead, path, contentResult(b, err))
	}
	return b, err
}

// readAllInto is io.ReadAll appending to b, stopping a little past
// MaxFileSize (for a file that grew since its size was read).
func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	lr := io.LimitReader(r, MaxFileSize+1-int64(len(b)))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func (c *confinedFS) ReadFile(path string) ([]byte, error) {
	p, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	if b, ok := c.overrides[p]; ok {
		return b, nil // derived from the file, which was recorded when it was read
	}
	return c.readCapped(p, os.O_RDONLY)
}

func (c *confinedFS) Walk(path string, walkFn filepath.WalkFunc) error {
	p, err := c.resolve(path)
	if err != nil {
		return err
	}
	if c.rec != nil {
		c.rec.uncacheable = true // a walk is not worth recording; kustomize builds do not walk
	}
	return filepath.Walk(p, func(path string, info fs.FileInfo, err error) error {
		if err == nil {
			if _, rerr := c.resolve(path); rerr != nil {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return walkFn(path, info, err)
	})
}

package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// FS is a read-only io/fs.FS of a directory of a repository, confined
// to the repository root as a render's inputs are: a name whose symlinks
// resolve outside the root (a link to /etc/passwd, to a parent directory,
// or a link of a Git tree that pkg/source made unfollowable) is an error
// naming the link, and so is a symlink loop. ReadFile does not read a file
// larger than its limit. Names in errors are relative to the root.
//
// Directory listings show symlinks as symlinks; Open, Stat and ReadFile
// follow them (within the root).
type FS struct {
	c       *Confined
	dir     string // slash-separated, relative to the root; "." for the root
	maxFile int64
}

var (
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
)

// New returns the file system of dir (slash-separated, relative to
// root; "." for the root itself), confined to root, reading files of at
// most maxFileSize bytes (MaxFileSize when 0 or less). dir itself is not
// checked until it is used.
func New(root, dir string, maxFileSize int64) (*FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	dir = path.Clean(filepath.ToSlash(dir))
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("%q is outside the repository", dir)
	}
	if maxFileSize <= 0 {
		maxFileSize = yamlguard.DefaultMaxFileSize
	}
	return &FS{c: NewConfined(abs, false, nil), dir: dir, maxFile: maxFileSize}, nil
}

// name is the root-relative name of name in r.
func (r *FS) name(name string) string { return path.Join(r.dir, name) }

// resolve checks name and returns the file it leads to, with its symlinks
// resolved, or a *fs.PathError naming the root-relative file (or the link).
func (r *FS) resolve(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	rel := r.name(name)
	abs := filepath.Join(r.c.root, filepath.FromSlash(rel))
	p, err := r.c.ResolveAbs(abs)
	if err == nil {
		return p, nil
	}
	if link, target, ok := r.leavingLink(abs); ok {
		return "", &fs.PathError{Op: op, Path: link, Err: fmt.Errorf("%w: it leads to %s", ErrLinkLeaves, target)}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && !filepath.IsAbs(pe.Path) {
		return "", err // already repository-relative, e.g. a link pkg/source neutralised
	}
	if errors.Is(err, syscall.ELOOP) || strings.Contains(err.Error(), "too many links") {
		err = errors.New("a symlink loop")
	} else if pe != nil {
		err = pe.Err
	}
	return "", &fs.PathError{Op: op, Path: rel, Err: err}
}

// leavingLink finds, on the way from the root to abs, the first symlink
// whose target resolves outside the root, and returns it (root-relative)
// and its target as written.
func (r *FS) leavingLink(abs string) (link, target string, ok bool) {
	return r.c.firstLink(abs, func(p, target string) (string, bool) {
		resolved, err := evalExisting(p)
		return target, err == nil && !Within(r.c.root, resolved)
	})
}

// Open opens name, following symlinks within the root.
func (r *FS) Open(name string) (fs.File, error) {
	return onResolved(r, "open", name, func(p string) (fs.File, error) { return os.Open(p) })
}

// Stat describes the file name leads to.
func (r *FS) Stat(name string) (fs.FileInfo, error) {
	return onResolved(r, "stat", name, os.Stat)
}

// ReadDir lists the directory name leads to; symlinks are listed as such.
func (r *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	return onResolved(r, "readdir", name, os.ReadDir)
}

// onResolved calls fn with the file name leads to, and names the
// root-relative file in fn's error.
func onResolved[T any](r *FS, op, name string, fn func(p string) (T, error)) (T, error) {
	var zero T
	p, err := r.resolve(op, name)
	if err != nil {
		return zero, err
	}
	v, err := fn(p)
	if err != nil {
		return zero, r.pathError(op, name, err)
	}
	return v, nil
}

// pathError is err (without the absolute path of an *fs.PathError) as an
// *fs.PathError of op naming the root-relative file of name.
func (r *FS) pathError(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: r.name(name), Err: unwrapPath(err)}
}

// ReadFile reads the file name leads to, refusing one larger than the
// limit without reading it.
func (r *FS) ReadFile(name string) ([]byte, error) {
	p, err := r.resolve("read", name)
	if err != nil {
		return nil, err
	}
	// O_NOFOLLOW: p has no symlinks left; refuse one put there since.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, r.pathError("read", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, r.pathError("read", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, r.pathError("read", name, errors.New("not a regular file"))
	}
	if st.Size() > r.maxFile {
		return nil, r.pathError("read", name, &FileTooLargeError{Size: st.Size(), Limit: r.maxFile})
	}
	b, err := io.ReadAll(io.LimitReader(f, r.maxFile+1))
	if err != nil {
		return nil, r.pathError("read", name, err)
	}
	if int64(len(b)) > r.maxFile { // it grew since
		return nil, r.pathError("read", name, &FileTooLargeError{Size: int64(len(b)), Limit: r.maxFile})
	}
	return b, nil
}

// FileTooLargeError is FS.ReadFile's error for a file over its limit.
type FileTooLargeError struct {
	// Size is the file's size (at least Limit+1 when it grew while read).
	Size int64
	// Limit is the most bytes a file may hold.
	Limit int64
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("the file is %s, more than the limit of %s", sizeString(e.Size), sizeString(e.Limit))
}

func sizeString(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// unwrapPath drops the absolute path of an *fs.PathError, which its caller
// replaces with the root-relative one.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

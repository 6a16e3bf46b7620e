// Package rootfs is the read-only file system of a repository, confined to
// its root once symlinks are resolved, through which a render reads every
// file under the YAML guard's limits.
//
// Confined is the file system of a build (kustomize's filesys.FileSystem,
// recording what it looked at for the render cache); FS is the io/fs.FS of
// a directory of a repository, for other readers (policies, meshintent.yaml).
package rootfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// Confined is the kustomize file system of a build: the disk, read-only,
// with every path checked to lie inside the repository root once symlinks
// are resolved. When remote bases are allowed, kustomize's clone
// directories (os.TempDir()/kustomize-*) are readable too.
type Confined struct {
	root      string // absolute, symlinks resolved
	cloneDir  string // prefix of kustomize's clone directories, "" when remote bases are refused
	disk      filesys.FileSystem
	overrides map[string][]byte // absolute path → content served instead of the file's
	rec       *Recording        // what the build looked at, for the Cache; nil when not recording

	// guard bounds the YAML of the render (nil: the default limits, per
	// read, for a Confined outside a render). Every file read through
	// ReadFile is checked with it; the fast path and the checks before
	// kustomize parse through it (see Parse).
	guard *yamlguard.Budget
	mu    sync.Mutex
	// checked holds the content hash of each file (absolute path) that
	// passed the guard, so that a file parsed by the fast path and read
	// again by kustomize is charged once.
	checked map[string][sha256.Size]byte
	// guardErr is the first breach found while kustomize was reading.
	guardErr error
}

var _ filesys.FileSystem = (*Confined)(nil)

var errReadOnly = errors.New("the repository is read-only during a render")

// NewConfined returns the file system of a build confined to root (absolute,
// symlinks resolved). allowRemote makes kustomize's clone directories
// readable too. guard bounds the YAML of the render; nil means the default
// limits, per read.
func NewConfined(root string, allowRemote bool, guard *yamlguard.Budget) *Confined {
	c := &Confined{root: root, disk: filesys.MakeFsOnDisk(), guard: guard}
	if allowRemote {
		tmp := os.TempDir()
		if t, err := filepath.EvalSymlinks(tmp); err == nil {
			tmp = t
		}
		c.cloneDir = filepath.Join(tmp, "kustomize-")
	}
	return c
}

// Root is the repository root: absolute, symlinks resolved.
func (c *Confined) Root() string { return c.root }

// SetOverrides serves content (by absolute, resolved path) instead of the
// files' own through ReadFile, until SetOverrides(nil): a kustomization file
// with what the build adds to it.
func (c *Confined) SetOverrides(content map[string][]byte) { c.overrides = content }

// Within reports whether path is dir or below it.
func Within(dir, path string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// Resolve returns path made absolute with its symlinks resolved, or an error
// when that lies outside the repository. A path that does not exist yet is
// resolved through its closest existing parent.
func (c *Confined) Resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	resolved, err := c.ResolveAbs(abs)
	if c.rec != nil {
		c.rec.note(opResolve, abs, result(resolved, err))
	}
	return resolved, err
}

// ErrLinkLeaves says a path goes through a symlink that leads outside the
// repository.
var ErrLinkLeaves = errors.New("a symlink leads outside the repository")

func (c *Confined) ResolveAbs(abs string) (string, error) {
	resolved, err := evalExisting(abs)
	if err != nil {
		if link, target, ok := c.escapingLink(abs); ok {
			return "", &fs.PathError{Op: "open", Path: link, Err: &EscapingLinkError{Target: target}}
		}
		return "", err
	}
	if Within(c.root, resolved) || (c.cloneDir != "" && strings.HasPrefix(resolved, c.cloneDir)) {
		return resolved, nil
	}
	if Within(c.root, abs) {
		return "", &fs.PathError{Op: "open", Path: c.Rel(abs), Err: ErrLinkLeaves}
	}
	return "", &fs.PathError{Op: "open", Path: abs, Err: errors.New("outside the repository")}
}

// EscapingLinkError is ErrLinkLeaves for a symlink of a Git tree that
// pkg/source made unfollowable; target is where the committed link led.
type EscapingLinkError struct{ Target string }

func (e *EscapingLinkError) Error() string {
	return fmt.Sprintf("%v (committed as a link to %q)", ErrLinkLeaves, e.Target)
}

func (e *EscapingLinkError) Is(target error) bool { return target == ErrLinkLeaves }

// EscapingLinkPrefix is pkg/source's EscapingLinkPrefix: a tree fetched from
// Git has a committed symlink that leads outside the repository replaced by
// a link to this unfollowable target (below /dev/null), followed by the
// original target, path-escaped. (pkg/source is not imported for one
// string; a test checks that both agree.)
const EscapingLinkPrefix = "/dev/null/meshintent-symlink-leaves-the-repository/to:"

// escapingLink finds, on the way from the root to abs, a symlink that
// pkg/source made unfollowable because it led outside the repository, and
// returns it (repo-relative) and its original target.
func (c *Confined) escapingLink(abs string) (link, target string, ok bool) {
	if !Within(c.root, abs) || abs == c.root {
		return "", "", false
	}
	return c.firstLink(abs, func(_, target string) (string, bool) {
		rest, found := strings.CutPrefix(target, EscapingLinkPrefix)
		if !found {
			return "", false
		}
		if orig, err := url.PathUnescape(rest); err == nil {
			rest = orig
		}
		return rest, true
	})
}

// firstLink walks from the root to abs and returns the first symlink on
// the way (root-relative) for which match, given the link's absolute path
// and its target as written, returns true, with the target match returns.
// It stops, returning false, at a part it cannot read.
func (c *Confined) firstLink(abs string, match func(p, target string) (string, bool)) (link, target string, ok bool) {
	p := c.root
	for _, part := range strings.Split(c.Rel(abs), "/") {
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
		if target, ok := match(p, t); ok {
			return c.Rel(p), target, true
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

// Rel is path relative to the root, slash-separated, for messages and sources.
func (c *Confined) Rel(path string) string {
	r, err := filepath.Rel(c.root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

func (c *Confined) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (c *Confined) Mkdir(string) error                  { return errReadOnly }
func (c *Confined) MkdirAll(string) error               { return errReadOnly }
func (c *Confined) WriteFile(string, []byte) error      { return errReadOnly }

// RemoveAll only removes kustomize's own clones (its cleanup of remote bases).
func (c *Confined) RemoveAll(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if c.cloneDir != "" && strings.HasPrefix(abs, c.cloneDir) {
		return os.RemoveAll(abs)
	}
	return errReadOnly
}

func (c *Confined) Open(path string) (filesys.File, error) {
	p, err := c.Resolve(path)
	if err != nil {
		return nil, err
	}
	if c.rec != nil {
		b, err := os.ReadFile(p)
		c.rec.note(opRead, p, contentResult(b, err))
	}
	return c.disk.Open(p)
}

func (c *Confined) IsDir(path string) bool {
	st, err := c.Stat(path)
	return err == nil && st.IsDir()
}

// Stat is os.Stat of a confined path.
func (c *Confined) Stat(path string) (fs.FileInfo, error) {
	p, err := c.Resolve(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if c.rec != nil {
		c.rec.note(opStat, p, statResult(st, err))
	}
	return st, err
}

func (c *Confined) ReadDir(path string) ([]string, error) {
	p, err := c.Resolve(path)
	if err != nil {
		return nil, err
	}
	names, err := c.disk.ReadDir(p)
	if c.rec != nil {
		c.rec.note(opReadDir, p, result(strings.Join(names, "\x00"), err))
	}
	return names, err
}

func (c *Confined) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if _, err := c.Stat(path); err != nil {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", path, err)
	}
	p, err := c.Resolve(path)
	if err != nil {
		return "", "", err
	}
	return c.disk.CleanedAbs(p)
}

func (c *Confined) Exists(path string) bool {
	_, err := c.Stat(path)
	return err == nil
}

func (c *Confined) Glob(pattern string) ([]string, error) {
	matches, err := c.disk.Glob(pattern)
	if c.rec != nil {
		c.rec.note(opGlob, pattern, result(strings.Join(matches, "\x00"), err))
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if _, err := c.Resolve(m); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// ListDir lists a resolved directory: each name's type, as the directory
// entry gives it (a symlink is a symlink).
func (c *Confined) ListDir(dir string) (map[string]fs.FileMode, error) {
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

// Budget is the guard of the render, or a fresh one with the default limits.
func (c *Confined) Budget() *yamlguard.Budget {
	if c.guard != nil {
		return c.guard
	}
	return yamlguard.NewBudget(yamlguard.Limits{})
}

// MaxFileSize is the largest file the render reads.
func (c *Confined) MaxFileSize() int64 {
	if c.guard != nil {
		return c.guard.Limits().MaxFileSize
	}
	return yamlguard.DefaultMaxFileSize
}

// MaxDepth is how deeply the render's maps and lists may nest.
func (c *Confined) MaxDepth() int {
	if c.guard != nil {
		return c.guard.Limits().MaxDepth
	}
	return yamlguard.DefaultMaxDepth
}

// Parse parses the content b of the resolved file path, named source in
// errors, into its documents' content nodes under the render's limits
// (see yamlguard.Budget.Parse), charging the render's budget once per file.
// A breach is a *LimitError; a YAML syntax error is returned as the parser
// words it.
func (c *Confined) Parse(path, source string, b []byte) ([]*yaml.Node, error) {
	sum := sha256.Sum256(b)
	c.mu.Lock()
	prev, seen := c.checked[path]
	c.mu.Unlock()
	if seen && prev == sum {
		return intent.ParseDocuments(b)
	}
	docs, err := c.Budget().Parse(source, b)
	var ge *yamlguard.Error
	if errors.As(err, &ge) {
		return nil, Named(source, err)
	}
	if err != nil {
		return docs, err
	}
	c.mu.Lock()
	if c.checked == nil {
		c.checked = map[string][sha256.Size]byte{}
	}
	c.checked[path] = sum
	c.mu.Unlock()
	return docs, nil
}

// check is parse without the documents, for the files kustomize reads:
// a breach is also kept as the first one kustomize ran into (see
// FirstBreach). Files that are not YAML (generator inputs) pass: their
// syntax error stops the guard, not the read.
func (c *Confined) check(path string, b []byte) error {
	_, err := c.Parse(path, c.Rel(path), b)
	var le *LimitError
	if !errors.As(err, &le) {
		return nil
	}
	c.mu.Lock()
	if c.guardErr == nil {
		c.guardErr = err
	}
	c.mu.Unlock()
	return err
}

// FirstBreach returns the first limit kustomize's reads ran into, if any.
func (c *Confined) FirstBreach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.guardErr
}

// LimitError is a breached limit of the YAML guard in the render's words:
// the file as the kustomization names it, and the field path as intent
// errors print it. It unwraps to the *yamlguard.Error.
type LimitError struct{ g *yamlguard.Error }

func (e *LimitError) Error() string {
	if len(e.g.Path) == 0 {
		return fmt.Sprintf("%s:%d: %s", e.g.File, e.g.Line, e.g.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.g.File, e.g.Line, ShortPath(intent.P(e.g.Path...)), e.g.Msg)
}

func (e *LimitError) Unwrap() error { return e.g }

// ShortPath prints a field path for an error line, cut after its first 8
// elements (a path that is too deep would make the line as long as the
// document).
func ShortPath(p intent.Path) string {
	if len(p) > 8 {
		return p[:8].String() + "…"
	}
	return p.String()
}

// Named returns err, an error about the file source, naming it: a breach
// of the guard as a *LimitError naming source (it names the file itself,
// with the line) or, for a render-wide limit another file crossed, that
// file; any other error prefixed with "source: ".
func Named(source string, err error) error {
	if err == nil {
		return nil
	}
	var spent *yamlguard.SpentError
	if errors.As(err, &spent) {
		return &LimitError{g: spent.First} // another file's, as it was named
	}
	var ge *yamlguard.Error
	if errors.As(err, &ge) {
		g := *ge
		g.File = source
		return &LimitError{g: &g}
	}
	return fmt.Errorf("%s: %w", source, err)
}

// ReadResolved reads a file whose path is already resolved and checked (see
// Resolve), refusing a symlink that would have replaced it since.
func (c *Confined) ReadResolved(path string) ([]byte, error) {
	return c.readCapped(path, os.O_RDONLY|syscall.O_NOFOLLOW)
}

// readCapped reads a file of at most the render's file size limit, without
// reading a larger one: that is a *yamlguard.Error naming the file
// (repo-relative, resolved) and the line where the limit falls.
func (c *Confined) readCapped(path string, flag int) ([]byte, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b []byte
	st, err := f.Stat()
	switch {
	case err != nil:
	case st.Size() > c.MaxFileSize():
		err = c.Budget().CheckFileSize(c.Rel(path), st.Size(), f)
	default:
		b = make([]byte, 0, st.Size()+1) // +1: io.ReadAll's EOF check needs no second buffer
		b, err = readAllInto(f, b, c.MaxFileSize())
		if err == nil && int64(len(b)) > c.MaxFileSize() {
			b, err = nil, c.Budget().CheckFileSize(c.Rel(path), int64(len(b)), bytes.NewReader(b))
		}
	}
	if c.rec != nil {
		c.rec.note(opRead, path, contentResult(b, err))
	}
	return b, err
}

// readAllInto is io.ReadAll appending to b, stopping a little past limit
// bytes (for a file that grew since its size was read).
func readAllInto(r io.Reader, b []byte, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit+1-int64(len(b)))
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

func (c *Confined) ReadFile(path string) ([]byte, error) {
	p, err := c.Resolve(path)
	if err != nil {
		return nil, err
	}
	if b, ok := c.overrides[p]; ok {
		return b, nil // derived from the file, which was recorded when it was read
	}
	b, err := c.readCapped(p, os.O_RDONLY)
	if err != nil {
		var ge *yamlguard.Error
		if errors.As(err, &ge) {
			err = Named(c.Rel(p), err)
			c.mu.Lock()
			if c.guardErr == nil {
				c.guardErr = err
			}
			c.mu.Unlock()
		}
		return nil, err
	}
	if err := c.check(p, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Confined) Walk(path string, walkFn filepath.WalkFunc) error {
	p, err := c.Resolve(path)
	if err != nil {
		return err
	}
	if c.rec != nil {
		c.rec.uncacheable = true // a walk is not worth recording; kustomize builds do not walk
	}
	return filepath.Walk(p, func(path string, info fs.FileInfo, err error) error {
		if err == nil {
			if _, rerr := c.Resolve(path); rerr != nil {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return walkFn(path, info, err)
	})
}

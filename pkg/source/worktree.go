package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// DefaultSnapshotMaxBytes bounds the files a work tree snapshot copies when
// SnapshotOptions.MaxBytes is zero.
const DefaultSnapshotMaxBytes int64 = 256 << 20

// SnapshotOptions bounds a work tree snapshot.
type SnapshotOptions struct {
	// MaxBytes bounds the total size of the files copied; zero means
	// DefaultSnapshotMaxBytes. A work tree holding more is an error naming
	// the limit, never a partial snapshot.
	MaxBytes int64
}

// Snapshot copies the work tree below sub (a slash path relative to Top;
// "" or "." for all of it) into dst, an empty directory, as `git diff HEAD`
// sees the work tree: tracked files as they are on disk (uncommitted edits
// included, deleted files absent) and untracked files unless .gitignore,
// .git/info/exclude or the user's core.excludesFile ignores them. Tracked
// files are kept even where an ignore rule matches, as in Git.
//
// Nested repositories that are not tracked are left out, submodules become
// empty directories, and symlinks are copied as links whose targets must
// stay inside the work tree (others are made unfollowable, as for commits;
// see EscapingLinkPrefix). Sockets, devices and pipes are skipped.
func (r *LocalRepo) Snapshot(ctx context.Context, sub, dst string, opts SnapshotOptions) error {
	if r.bare {
		return fmt.Errorf("%s is a bare repository: it has no work tree", r.top)
	}
	sub = path.Clean("/" + filepath.ToSlash(sub))[1:]
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultSnapshotMaxBytes
	}
	w := &snapshotWalk{ctx: ctx, top: r.top, dst: dst, sub: sub, budget: opts.MaxBytes, limit: opts.MaxBytes}
	var err error
	if w.tracked, w.trackedDirs, err = r.indexPaths(); err != nil {
		return err
	}
	if err := w.walk(nil, false, r.excludePatterns()); err != nil {
		return fmt.Errorf("snapshot the work tree of %s: %w", r.top, err)
	}
	return nil
}

// indexPaths returns the tracked paths with their modes, and every
// directory that holds a tracked path.
func (r *LocalRepo) indexPaths() (map[string]filemode.FileMode, map[string]bool, error) {
	tracked := map[string]filemode.FileMode{}
	dirs := map[string]bool{}
	idx, err := r.repo.Storer.Index()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return tracked, dirs, nil
		}
		return nil, nil, fmt.Errorf("read the index of %s: %w", r.top, err)
	}
	for _, e := range idx.Entries {
		// A merge conflict keeps three entries; the work tree holds ours.
		// (go-git's index.Merged is 1, the ancestor's stage, not 0.)
		if e.Stage == index.AncestorMode || e.Stage == index.TheirMode {
			continue
		}
		tracked[e.Name] = e.Mode
		for d := path.Dir(e.Name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return tracked, dirs, nil
}

// excludePatterns reads the ignore rules that are not in the work tree:
// the system's and the user's core.excludesFile and .git/info/exclude.
func (r *LocalRepo) excludePatterns() []gitignore.Pattern {
	root := osfs.New("/")
	// Unreadable global rules are skipped, as Git skips them.
	ps, _ := gitignore.LoadSystemPatterns(root)
	global, _ := gitignore.LoadGlobalPatterns(root)
	ps = append(ps, global...)
	if xdg := xdgIgnoreFile(); xdg != "" && len(global) == 0 {
		ps = append(ps, readPatterns(xdg, nil)...)
	}
	if r.gitDir != "" {
		ps = append(ps, readPatterns(filepath.Join(r.gitDir, "info", "exclude"), nil)...)
	}
	return ps
}

// xdgIgnoreFile is Git's default core.excludesFile.
func xdgIgnoreFile() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "git", "ignore")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", "git", "ignore")
	}
	return ""
}

// maxIgnoreFile bounds one ignore file read from the work tree.
const maxIgnoreFile = 1 << 20

// readPatterns parses an ignore file whose rules apply below domain; a
// missing or unreadable file has no rules.
func readPatterns(file string, domain []string) []gitignore.Pattern {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIgnoreFile))
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// snapshotWalk is the state of one Snapshot.
type snapshotWalk struct {
	ctx         context.Context
	top, dst    string
	sub         string
	tracked     map[string]filemode.FileMode
	trackedDirs map[string]bool
	budget      int64
	limit       int64
}

// inScope reports whether rel is below sub (copied) or above it (walked
// through for its ignore rules only).
func (w *snapshotWalk) inScope(rel string) (copyIt, walkIt bool) {
	if w.sub == "" || rel == w.sub || strings.HasPrefix(rel, w.sub+"/") {
		return true, true
	}
	return false, strings.HasPrefix(w.sub, rel+"/")
}

// walk copies the directory at the slash path elems. ignored says an
// ignore rule matched the directory: only tracked paths below it count.
// inherited holds the ignore rules of the directories above.
func (w *snapshotWalk) walk(elems []string, ignored bool, inherited []gitignore.Pattern) error {
	rel := path.Join(elems...)
	dir := filepath.Join(w.top, filepath.FromSlash(rel))
	patterns := append(inherited[:len(inherited):len(inherited)], readPatterns(filepath.Join(dir, ".gitignore"), elems)...)
	matcher := gitignore.NewMatcher(patterns)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if e.Name() == ".git" {
			continue
		}
		childElems := append(elems[:len(elems):len(elems)], e.Name())
		child := path.Join(childElems...)
		copyIt, walkIt := w.inScope(child)
		if !walkIt {
			continue
		}
		mode, isTracked := w.tracked[child]
		isDir := e.IsDir()
		childIgnored := ignored || matcher.Match(childElems, isDir)
		if isDir {
			if !copyIt {
				if err := w.walkDir(childElems, child, childIgnored, false, patterns); err != nil {
					return err
				}
				continue
			}
			if isTracked && mode == filemode.Submodule {
				// Like a checkout without submodules: an empty directory.
				if err := os.MkdirAll(w.target(child), 0o755); err != nil {
					return err
				}
				continue
			}
			if childIgnored && !w.trackedDirs[child] {
				continue
			}
			if !w.trackedDirs[child] && isNestedRepo(filepath.Join(w.top, filepath.FromSlash(child))) {
				continue
			}
			if err := w.walkDir(childElems, child, childIgnored, true, patterns); err != nil {
				return err
			}
			continue
		}
		if !copyIt || (!isTracked && childIgnored) {
			continue
		}
		if err := w.copyFile(child, e.Type()); err != nil {
			return err
		}
	}
	return nil
}

// walkDir creates the directory child in the snapshot (when mk) and walks it.
func (w *snapshotWalk) walkDir(elems []string, child string, ignored, mk bool, patterns []gitignore.Pattern) error {
	if mk {
		if err := os.MkdirAll(w.target(child), 0o755); err != nil {
			return err
		}
	}
	return w.walk(elems, ignored, patterns)
}

func (w *snapshotWalk) target(rel string) string {
	return filepath.Join(w.dst, filepath.FromSlash(rel))
}

// copyFile copies one regular file or symlink into the snapshot.
func (w *snapshotWalk) copyFile(rel string, typ fs.FileMode) error {
	src := filepath.Join(w.top, filepath.FromSlash(rel))
	dst := w.target(rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case typ&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if !safeSymlink(rel, filepath.ToSlash(target)) {
			target = escapingLinkTarget(target)
		}
		return os.Symlink(target, dst)
	case typ.IsRegular():
	default:
		// Git keeps only files, links and directories.
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if fi.Mode().Perm()&0o100 != 0 {
		perm = 0o755
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, w.budget+1))
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", rel, err)
	}
	if w.budget -= n; w.budget < 0 {
		return fmt.Errorf("%s: the work tree holds more than %d bytes of files (the snapshot limit)", rel, w.limit)
	}
	return nil
}

// isNestedRepo reports whether dir is the top of another repository.
func isNestedRepo(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, ".git"))
	return err == nil
}

package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// staleTempAge is how old a leftover temporary tree must be before a later
// fetch removes it.
const staleTempAge = time.Hour

// treeDir returns the materialised tree of commit if it exists.
func (op *fetchOp) treeDir(commit plumbing.Hash) (string, bool) {
	return existingTree(op.treesDir, commit)
}

// materialise writes the tree of commit to <trees>/<sha> unless it is
// already there (see materialiseTree).
func (op *fetchOp) materialise(ctx context.Context, repo *git.Repository, commit *object.Commit) (string, error) {
	return materialiseTree(ctx, repo, commit, op.treesDir)
}

// existingTree returns treesDir/<commit> if it is a directory.
func existingTree(treesDir string, commit plumbing.Hash) (string, bool) {
	dir := filepath.Join(treesDir, commit.String())
	fi, err := os.Stat(dir)
	return dir, err == nil && fi.IsDir()
}

// materialiseTree writes the tree of commit to treesDir/<sha> unless it is
// already there. The tree is written to a temporary directory and renamed
// into place, so a tree directory is always complete.
func materialiseTree(ctx context.Context, repo *git.Repository, commit *object.Commit, treesDir string) (string, error) {
	final, ok := existingTree(treesDir, commit.Hash)
	if ok {
		return final, nil
	}
	if err := os.MkdirAll(treesDir, 0o755); err != nil {
		return "", fmt.Errorf("create trees directory: %w", err)
	}
	removeStaleTemps(treesDir)
	// A non-directory in the way is debris from an older layout or a bug.
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("clear %s: %w", final, err)
	}

	tmp, err := os.MkdirTemp(treesDir, ".tmp-"+commit.Hash.String()+"-")
	if err != nil {
		return "", fmt.Errorf("create temporary tree: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create temporary tree: %w", err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return "", cacheError(fmt.Errorf("read tree of %s: %w", commit.Hash, err))
	}
	if err := writeTree(ctx, repo, tree, tmp); err != nil {
		return "", fmt.Errorf("check out %s: %w", commit.Hash, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, ok := existingTree(treesDir, commit.Hash); ok {
			// Another process materialised the same commit first.
			return final, nil
		}
		return "", fmt.Errorf("move tree into place: %w", err)
	}
	keep = true
	return final, nil
}

// writeTree writes every entry of tree under root, which must be empty.
func writeTree(ctx context.Context, repo *git.Repository, tree *object.Tree, root string) error {
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return cacheError(fmt.Errorf("walk tree: %w", err))
		}
		if !safePath(name) {
			return fmt.Errorf("unsafe path %q in tree", name)
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		switch entry.Mode {
		case filemode.Dir, filemode.Submodule:
			// Submodules are not fetched; like git, leave an empty directory.
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			perm := os.FileMode(0o644)
			if entry.Mode == filemode.Executable {
				perm = 0o755
			}
			if err := writeBlob(repo, entry.Hash, dst, perm); err != nil {
				return err
			}
		case filemode.Symlink:
			if err := writeSymlink(repo, entry.Hash, name, dst); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unsupported mode %s for %q", entry.Mode, name)
		}
	}
}

// openBlob opens the content of the blob hash; the caller closes it.
func openBlob(repo *git.Repository, hash plumbing.Hash) (io.ReadCloser, error) {
	blob, err := repo.BlobObject(hash)
	if err != nil {
		return nil, cacheError(fmt.Errorf("read blob %s: %w", hash, err))
	}
	r, err := blob.Reader()
	if err != nil {
		return nil, cacheError(fmt.Errorf("read blob %s: %w", hash, err))
	}
	return r, nil
}

func writeBlob(repo *git.Repository, hash plumbing.Hash, dst string, perm os.FileMode) (err error) {
	r, err := openBlob(repo, hash)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return cacheError(fmt.Errorf("write %s: %w", dst, err))
	}
	return nil
}

// EscapingLinkPrefix starts the target that a committed symlink leading
// outside the repository gets in a materialised tree (see writeSymlink). The
// rest of the target is the original one, path-escaped (no '/'), cut to
// EscapingLinkMaxTarget bytes first (which keeps the link's target well
// below PATH_MAX).
//
// The target lies below /dev/null, a character device, so the link can never
// be followed: whoever opens it, render or a policy loader using os.DirFS,
// gets "not a directory", never the content of a file outside the tree. The
// prefix holds no "." or ".." element, so cleaning it lexically keeps it
// below /dev/null too. pkg/render recognises it (it keeps its own copy of
// the prefix) and says which file is a symlink leading out.
const EscapingLinkPrefix = "/dev/null/meshintent-symlink-leaves-the-repository/to:"

// EscapingLinkMaxTarget bounds the original target kept in an escaping link.
const EscapingLinkMaxTarget = 200

// writeSymlink creates a symlink whose target stays inside the tree. A
// target that is absolute or leaves the tree is replaced by one that cannot
// be followed (see EscapingLinkPrefix), so that the tree still shows a
// symlink where the repository has one, and nothing reads outside the tree
// through it.
func writeSymlink(repo *git.Repository, hash plumbing.Hash, name, dst string) error {
	r, err := openBlob(repo, hash)
	if err != nil {
		return err
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return cacheError(fmt.Errorf("read blob %s: %w", hash, err))
	}
	t := string(target)
	if !safeSymlink(name, t) {
		return os.Symlink(escapingLinkTarget(t), dst)
	}
	return os.Symlink(t, dst)
}

// escapingLinkTarget is the unfollowable stand-in for target (see
// EscapingLinkPrefix).
func escapingLinkTarget(target string) string {
	if len(target) > EscapingLinkMaxTarget {
		target = strings.ToValidUTF8(target[:EscapingLinkMaxTarget], "") + "..."
	}
	return EscapingLinkPrefix + url.PathEscape(target)
}

// safeSymlink reports whether the symlink at name with the given target
// resolves inside the tree. The target must be relative, may only climb
// ("..") before descending, and must not climb above the root. Climbing
// after a descent could leave the tree through another symlink, such as
// "s/.." with s pointing to ".".
func safeSymlink(name, target string) bool {
	if target == "" || path.IsAbs(target) || strings.ContainsAny(target, "\\\x00") {
		return false
	}
	descended := false
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if descended {
				return false
			}
		default:
			descended = true
		}
	}
	resolved := path.Join(path.Dir(name), target)
	return resolved != ".." && !strings.HasPrefix(resolved, "../")
}

// safePath reports whether a slash-separated tree path stays inside the
// tree and avoids .git.
func safePath(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return false
		}
	}
	return true
}

// removeStaleTemps removes temporary trees left by crashed fetches.
func removeStaleTemps(treesDir string) {
	entries, err := os.ReadDir(treesDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			os.RemoveAll(filepath.Join(treesDir, e.Name()))
		}
	}
}

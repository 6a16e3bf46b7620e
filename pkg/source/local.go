package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ErrNotARepository means a local path is not inside a Git repository.
var ErrNotARepository = errors.New("not a git repository")

// LocalRepo is a Git repository on this machine, read as it is: revisions
// resolve against its own refs and objects, and nothing is fetched. A
// shallow clone or a detached HEAD is fine; only the commits asked for must
// be present.
type LocalRepo struct {
	repo *git.Repository
	// top is the work tree's top directory, or the repository directory
	// itself for a bare repository.
	top string
	// gitDir is the repository's .git directory (for a bare repository,
	// the repository itself).
	gitDir string
	bare   bool
}

// OpenLocal opens the repository that holds path: path itself or its
// nearest ancestor with a .git directory or file (a linked work tree or a
// submodule), or a bare repository at path. The error wraps
// ErrNotARepository when there is none.
func OpenLocal(path string) (*LocalRepo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s: %w (nor is any parent directory)", path, ErrNotARepository)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", path, err)
	}
	r := &LocalRepo{repo: repo}
	if fs, ok := repo.Storer.(*filesystem.Storage); ok {
		r.gitDir = fs.Filesystem().Root()
	}
	wt, err := repo.Worktree()
	switch {
	case errors.Is(err, git.ErrIsBareRepository):
		r.bare = true
		r.top = r.gitDir
	case err != nil:
		return nil, fmt.Errorf("open work tree of %s: %w", path, err)
	default:
		r.top = wt.Filesystem.Root()
	}
	if r.top == "" {
		r.top = abs
	}
	if r.top, err = filepath.EvalSymlinks(r.top); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", r.top, err)
	}
	return r, nil
}

// Top is the top directory of the work tree (the repository itself when it
// is bare), with symlinks resolved.
func (r *LocalRepo) Top() string { return r.top }

// Bare reports whether the repository has no work tree.
func (r *LocalRepo) Bare() bool { return r.bare }

// Checkout writes the tree of commit (a full SHA, as Resolve returns) below
// cacheDir and returns its directory. The directory is shared and stable per
// commit: callers must only read it. Symlinks leading out of the tree are
// made unfollowable as for fetched trees (see EscapingLinkPrefix).
func (r *LocalRepo) Checkout(ctx context.Context, commit, cacheDir string) (string, error) {
	hash := plumbing.NewHash(commit)
	if hash.String() != commit {
		return "", fmt.Errorf("check out %q: not a full commit SHA", commit)
	}
	treesDir := filepath.Join(cacheDir, "local", r.cacheKey(), "trees")
	if dir, ok := existingTree(treesDir, hash); ok {
		return dir, nil
	}
	c, err := object.GetCommit(r.repo.Storer, hash)
	if err != nil {
		return "", fmt.Errorf("read commit %s: %w", commit, err)
	}
	dir, err := materialiseTree(ctx, r.repo, c, treesDir)
	if err != nil {
		return "", fmt.Errorf("check out %s from %s: %w", commit, r.top, err)
	}
	return dir, nil
}

// cacheKey names the repository's directory in the cache: trees of two
// repositories never share a directory, even for the same commit SHA.
func (r *LocalRepo) cacheKey() string {
	key := r.gitDir
	if key == "" {
		key = r.top
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

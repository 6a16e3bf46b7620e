package gitfixture

import (
	"os"
	"path/filepath"
	"testing"
)

// Symlink makes a symlink at path (an OS path) leading to target as
// written, making path's directories, and fails the test on error.
func Symlink(t testing.TB, path, target string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// Symlink makes a symlink at a repo-relative slash path leading to target
// as written, making its directories.
func (r *Repo) Symlink(path, target string) {
	r.t.Helper()
	Symlink(r.t, filepath.Join(r.Dir, filepath.FromSlash(path)), target)
}

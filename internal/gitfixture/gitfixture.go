// Package gitfixture makes real Git repositories with the git CLI for tests:
// commit, edit, branch, and serve them to fetchers as file:// URLs.
package gitfixture

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CopyTree copies the directory src into dst.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// Repo is a real repository made with the git CLI in a test's temp dir.
type Repo struct {
	t testing.TB
	// Dir is the work tree.
	Dir string
}

// New makes an empty repository on branch main.
func New(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	return r
}

// FromDir makes a repository whose first commit holds a copy of src.
func FromDir(t testing.TB, src, msg string) *Repo {
	t.Helper()
	r := New(t)
	CopyTree(t, src, r.Dir)
	r.Commit(msg)
	return r
}

// Git runs git in the work tree with a fixed identity and no user config,
// failing the test on error, and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write puts content at a repo-relative path.
func (r *Repo) Write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Edit replaces old with new in a repo-relative file; old must be there.
func (r *Repo) Edit(path, old, new string) {
	r.t.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(path))
	b, err := os.ReadFile(full)
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		r.t.Fatalf("%s does not contain %q", path, old)
	}
	r.Write(path, strings.Replace(string(b), old, new, 1))
}

// Remove deletes a repo-relative path from the work tree and the index.
func (r *Repo) Remove(path string) {
	r.t.Helper()
	r.Git("rm", "-q", path)
}

// Commit commits everything and returns the commit SHA.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// URL is the repository's file:// URL.
func (r *Repo) URL() string { return "file://" + r.Dir }

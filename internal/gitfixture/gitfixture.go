// Package gitfixture makes real Git repositories with the git CLI for tests
// and the demo and bench harnesses: it runs git without the user's
// configuration, makes repositories and commits, copies trees into them and
// serves them to fetchers as file:// URLs or over smart HTTP (see Server).
//
// The functions that take a testing.TB fail the test on error; the others
// (Env, Command, Run, CopyDir, Handler, ServeDir) return errors, for
// harnesses that run outside `go test`.
package gitfixture

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Env is the environment git runs with here, added to the process's own:
// no system or global configuration, no credential prompts, and a fixed
// author and committer so that runs are reproducible.
func Env() []string {
	return []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_SYSTEM=/dev/null",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	}
}

// Command returns git with args, to run in dir with Env. The caller may
// add to its Env, set Stdin, and so on before running it.
func Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), Env()...)
	return cmd
}

// Run runs git with args in dir and returns its standard output with
// surrounding white space trimmed. The error names the command and holds
// git's standard error.
func Run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := Command(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// CombinedOutput runs cmd (made by Command) and returns its standard output
// and standard error together, trimmed: for commands whose hooks' output
// matters, which git writes to standard error. The error names the command
// and holds the output.
func CombinedOutput(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Git is Run that fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := Run(context.Background(), dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// CopyDir copies the directories and regular files below src into dst,
// making dst if needed. Files are written 0644, directories 0755.
func CopyDir(src, dst string) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
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
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return nil
}

// CopyTree is CopyDir that fails the test on error.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := CopyDir(src, dst); err != nil {
		t.Fatal(err)
	}
}

// Repo is a real repository made with the git CLI in a test's temp dir.
type Repo struct {
	t testing.TB
	// Dir is the work tree.
	Dir string
}

// New makes an empty repository on branch main in a new temp dir.
func New(t testing.TB) *Repo {
	t.Helper()
	return NewAt(t, t.TempDir())
}

// NewAt makes an empty repository on branch main in dir, making dir (and
// its parents) if needed; use it where the repository's path or base name
// matters, e.g. several repositories served from one root.
func NewAt(t testing.TB, dir string) *Repo {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Repo{t: t, Dir: dir}
	r.Git("init", "-q", "-b", "main")
	return r
}

// Open returns the Repo of the existing work tree dir, such as one a
// program under test made.
func Open(t testing.TB, dir string) *Repo { return &Repo{t: t, Dir: dir} }

// FromDir makes a repository whose first commit holds a copy of src.
func FromDir(t testing.TB, src, msg string) *Repo {
	t.Helper()
	r := New(t)
	CopyTree(t, src, r.Dir)
	r.Commit(msg)
	return r
}

// Git runs git in the work tree with Env, failing the test on error, and
// returns its trimmed standard output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Dir, args...)
}

// Write puts content at a repo-relative slash path, making its directories.
func (r *Repo) Write(path, content string) {
	r.t.Helper()
	WriteFile(r.t, filepath.Join(r.Dir, filepath.FromSlash(path)), []byte(content))
}

// WriteFile writes content to the file at path (an OS path), making its
// directories, and fails the test on error.
func WriteFile(t testing.TB, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteTree writes files (slash path relative to dir → content) below dir
// with WriteFile; dir need not be a repository.
func WriteTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), []byte(content))
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

// Commit commits everything in the work tree (an empty commit when nothing
// changed) on the current branch and returns the commit SHA.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// CommitFiles writes files (repo-relative slash path → content; empty
// content deletes the file from the work tree) and commits as Commit does.
func (r *Repo) CommitFiles(msg string, files map[string]string) string {
	r.t.Helper()
	for path, content := range files {
		if content == "" {
			if err := os.Remove(filepath.Join(r.Dir, filepath.FromSlash(path))); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		r.Write(path, content)
	}
	return r.Commit(msg)
}

// URL is the repository's file:// URL.
func (r *Repo) URL() string { return "file://" + r.Dir }

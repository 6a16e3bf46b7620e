package gitfixture

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRepo(t *testing.T) {
	tests := []struct {
		name string
		// change edits r after a first commit of a.txt and dir/b.txt.
		change func(r *Repo) string
		// want is `git ls-tree -r --name-only HEAD` after change.
		want string
	}{{
		name:   "CommitFiles writes new files in new directories",
		change: func(r *Repo) string { return r.CommitFiles("add", map[string]string{"x/y/c.txt": "c\n"}) },
		want:   "a.txt\ndir/b.txt\nx/y/c.txt",
	}, {
		name:   "CommitFiles deletes a file given empty content",
		change: func(r *Repo) string { return r.CommitFiles("delete", map[string]string{"dir/b.txt": ""}) },
		want:   "a.txt",
	}, {
		name:   "Commit with nothing changed makes an empty commit",
		change: func(r *Repo) string { return r.Commit("empty") },
		want:   "a.txt\ndir/b.txt",
	}, {
		name: "Remove and Edit are committed by Commit",
		change: func(r *Repo) string {
			r.Remove("a.txt")
			r.Edit("dir/b.txt", "b", "B")
			return r.Commit("edit")
		},
		want: "dir/b.txt",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewAt(t, filepath.Join(t.TempDir(), "nested", "repo"))
			first := r.CommitFiles("first", map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n"})
			head := tt.change(r)
			if head == first || head != r.Git("rev-parse", "HEAD") {
				t.Fatalf("commit = %s, want a new HEAD after %s", head, first)
			}
			if diff := cmp.Diff(tt.want, r.Git("ls-tree", "-r", "--name-only", "HEAD")); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
			if got := r.Git("log", "-1", "--format=%an <%ae>"); got != "Test <test@example.com>" {
				t.Errorf("author = %q, want the fixed identity", got)
			}
			if st := r.Git("status", "--porcelain"); st != "" {
				t.Errorf("work tree not clean after commit:\n%s", st)
			}
		})
	}
}

func TestRunFailureNamesCommandAndStderr(t *testing.T) {
	_, err := Run(context.Background(), t.TempDir(), "rev-parse", "--verify", "no-such-ref")
	if err == nil || !strings.Contains(err.Error(), "git rev-parse --verify no-such-ref") || !strings.Contains(err.Error(), "fatal") {
		t.Fatalf("err = %v, want the command and git's stderr", err)
	}
}

func TestCopyDir(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a", "b", "f.yaml"), []byte("x: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "new")
	CopyTree(t, src, dst)
	b, err := os.ReadFile(filepath.Join(dst, "a", "b", "f.yaml"))
	if err != nil || string(b) != "x: 1\n" {
		t.Fatalf("copied file = %q (%v)", b, err)
	}
	if err := CopyDir(filepath.Join(src, "missing"), dst); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("copying a missing dir: err = %v, want it named", err)
	}
}

// TestHandlerServesEveryRepositoryBelowRoot clones two repositories of one
// root through one Handler, as the source tests' authenticating server does.
func TestHandlerServesEveryRepositoryBelowRoot(t *testing.T) {
	root := t.TempDir()
	heads := map[string]string{}
	for _, name := range []string{"one", "two.git"} {
		r := NewAt(t, filepath.Join(root, name))
		heads[name] = r.CommitFiles(name, map[string]string{"f": name})
	}
	h, err := Handler(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for name, want := range heads {
		got := Git(t, t.TempDir(), "ls-remote", srv.URL+"/"+name, "refs/heads/main")
		if !strings.HasPrefix(got, want) {
			t.Errorf("ls-remote %s = %q, want %s", name, got, want)
		}
	}
}

// TestServeDirWithoutTest runs a server the way the bench and demo
// harnesses do: no testing.TB, errors returned, stopped by the caller.
func TestServeDirWithoutTest(t *testing.T) {
	r := New(t)
	head := r.CommitFiles("one", map[string]string{"f": "1"})
	s, err := ServeDir(r.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	if got, err := Run(ctx, "", "ls-remote", s.URL, "refs/heads/main"); err != nil || !strings.HasPrefix(got, head) {
		t.Fatalf("ls-remote = %q (%v), want %s", got, err, head)
	}
	s.Stop()
	if _, err := Run(ctx, "", "ls-remote", s.URL); err == nil {
		t.Fatal("ls-remote against a stopped server succeeded")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, "", "ls-remote", s.URL); err != nil {
		t.Fatalf("ls-remote after Restart: %v", err)
	}
	if n := s.Requests.Load(); n < 2 {
		t.Errorf("Requests = %d, want the requests of both ls-remotes", n)
	}
}

// TestOpenAndCombinedOutput commits, in a work tree written with WriteTree
// and reached through Open, with a post-commit hook: CombinedOutput returns
// what the hook said, and its error names the command that failed.
func TestOpenAndCombinedOutput(t *testing.T) {
	ctx := context.Background()
	dir := New(t).Dir
	WriteTree(t, dir, map[string]string{"a.txt": "a\n", "dir/b.txt": "b\n"})
	hook := filepath.Join(dir, ".git", "hooks", "post-commit")
	WriteFile(t, hook, []byte("#!/bin/sh\necho \"hook ran for $(git rev-parse --short=7 HEAD)\"\n"))
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	r := Open(t, dir)
	r.Git("add", "-A")
	out, err := CombinedOutput(Command(ctx, dir, "commit", "-qm", "first"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "hook ran for " + r.Git("rev-parse", "--short=7", "HEAD"); out != want {
		t.Errorf("CombinedOutput = %q, want %q", out, want)
	}
	if diff := cmp.Diff("a.txt\ndir/b.txt", r.Git("ls-tree", "-r", "--name-only", "HEAD")); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if _, err := CombinedOutput(Command(ctx, dir, "rev-parse", "--verify", "nope")); err == nil || !strings.Contains(err.Error(), "git rev-parse --verify nope") {
		t.Errorf("error of a failed command = %v, want it to name the command", err)
	}
}

func TestSymlink(t *testing.T) {
	r := New(t)
	r.Symlink("a/b/up", "../x")
	Symlink(t, filepath.Join(r.Dir, "abs"), "/etc/passwd")
	r.Commit("links")
	for path, want := range map[string]string{"a/b/up": "../x", "abs": "/etc/passwd"} {
		if mode := r.Git("ls-tree", "HEAD", path); !strings.HasPrefix(mode, "120000 ") {
			t.Errorf("%s is committed as %q, want a symlink (mode 120000)", path, mode)
		}
		if got := r.Git("cat-file", "blob", "HEAD:"+path); got != want {
			t.Errorf("%s leads to %q, want %q", path, got, want)
		}
	}
}

package gitfixture

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestServe(t *testing.T) {
	repo := New(t)
	repo.Write("a.txt", "one\n")
	first := repo.Commit("one")
	srv := Serve(t, repo.Dir)

	lsRemote := func() (string, error) {
		out, err := exec.Command("git", "ls-remote", srv.URL, "refs/heads/main").CombinedOutput()
		return string(out), err
	}

	t.Run("a clone over smart HTTP gets the committed tree", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "clone")
		if out, err := exec.Command("git", "clone", "-q", srv.URL, dst).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		out, err := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output()
		if err != nil || string(out[:40]) != first {
			t.Fatalf("cloned HEAD = %q (%v), want %s", out, err, first)
		}
	})

	t.Run("a new commit is served at once", func(t *testing.T) {
		repo.Write("a.txt", "two\n")
		second := repo.Commit("two")
		out, err := lsRemote()
		if err != nil || len(out) < 40 || out[:40] != second {
			t.Fatalf("ls-remote = %q (%v), want %s", out, err, second)
		}
	})

	t.Run("a stopped server refuses and a restarted one serves on the same URL", func(t *testing.T) {
		srv.Stop()
		if out, err := lsRemote(); err == nil {
			t.Fatalf("ls-remote against a stopped server succeeded: %s", out)
		}
		srv.Start()
		if out, err := lsRemote(); err != nil {
			t.Fatalf("ls-remote after restart: %v\n%s", err, out)
		}
	})
}

package gitfixture

import (
	"path/filepath"
	"strings"
	"testing"
)

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

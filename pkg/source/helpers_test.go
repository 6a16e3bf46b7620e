package source

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// readTree returns every regular file under dir as slash path → content,
// and every symlink as path → "-> target".
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files[rel] = "-> " + target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read tree %s: %v", dir, err)
	}
	return files
}

// fixture is a repository with history:
//
//	c0 ── c1 ── c2   main, tag "light"
//	       │ ╲
//	       │  c3     feature
//	       tag "v1" (annotated)
type fixture struct {
	root           string
	repo           *gitfixture.Repo
	c0, c1, c2, c3 string
}

func (fx *fixture) tree(sha string) map[string]string {
	switch sha {
	case fx.c0:
		return map[string]string{"README.md": "v0\n"}
	case fx.c1:
		return map[string]string{"README.md": "v1\n", "deploy/app.yaml": "kind: App\n"}
	case fx.c2:
		return map[string]string{"README.md": "v2\n", "deploy/app.yaml": "kind: App\n"}
	case fx.c3:
		return map[string]string{"README.md": "v1\n", "deploy/app.yaml": "kind: App\n", "feature.txt": "f\n"}
	}
	return nil
}

// subject is the commit message of sha: its name in the fixture.
func (fx *fixture) subject(sha string) string {
	for name, c := range map[string]string{"c0": fx.c0, "c1": fx.c1, "c2": fx.c2, "c3": fx.c3} {
		if c == sha {
			return name
		}
	}
	return ""
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{root: t.TempDir()}
	fx.repo = gitfixture.NewAt(t, filepath.Join(fx.root, "app.git"))
	r := fx.repo
	fx.c0 = r.CommitFiles("c0", map[string]string{"README.md": "v0\n"})
	fx.c1 = r.CommitFiles("c1", map[string]string{"README.md": "v1\n", "deploy/app.yaml": "kind: App\n"})
	r.Git("tag", "--annotate", "--message", "release v1", "v1")
	r.Git("checkout", "--quiet", "-b", "feature")
	fx.c3 = r.CommitFiles("c3", map[string]string{"feature.txt": "f\n"})
	r.Git("checkout", "--quiet", "main")
	fx.c2 = r.CommitFiles("c2", map[string]string{"README.md": "v2\n"})
	r.Git("tag", "light")
	return fx
}

func newTestFetcher(t *testing.T) *Fetcher {
	t.Helper()
	f, err := NewFetcher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkFetched checks that art is commit, materialised with the fixture's
// tree of it.
func (fx *fixture) checkFetched(t *testing.T, art *Artifact, commit string) {
	t.Helper()
	if diff := cmp.Diff(commit, art.Commit); diff != "" {
		t.Errorf("commit mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fx.tree(commit), readTree(t, art.Dir)); diff != "" {
		t.Errorf("tree mismatch (-want +got):\n%s", diff)
	}
}

// cacheGitDir returns the only cached repository of f.
func cacheGitDir(t *testing.T, f *Fetcher) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(f.dir, "*", "git"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("cached repositories = %v (%v), want exactly one", dirs, err)
	}
	return dirs[0]
}

// removeAll removes path and everything below it.
func removeAll(t *testing.T, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

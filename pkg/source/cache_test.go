package source

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// objectCount is the number of objects in a repository, as git
// count-objects reports it.
func objectCount(t *testing.T, gitDir string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(gitfixture.Git(t, gitDir, "count-objects", "-v"), "\n") {
		key, value, _ := strings.Cut(line, ": ")
		if key == "count" || key == "in-pack" {
			v, err := strconv.Atoi(value)
			if err != nil {
				t.Fatalf("count-objects line %q: %v", line, err)
			}
			n += v
		}
	}
	return n
}

func TestFetchIsShallowAndIncremental(t *testing.T) {
	fx := newFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	f := newTestFetcher(t)
	opts := Options{URL: srv.URL + "/app.git", Ref: Ref{Branch: "main"}}

	first, err := f.Fetch(t.Context(), opts)
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	gitDir := cacheGitDir(t, f)
	// Depth 1: the commit, two trees (root, deploy) and two blobs.
	if got, want := objectCount(t, gitDir), 5; got != want {
		t.Errorf("objects after the first fetch = %d, want %d (only the tip commit)", got, want)
	}

	t.Run("fetching an unchanged branch downloads nothing", func(t *testing.T) {
		packsBefore := srv.uploadPacks.Load()
		again, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("artifact mismatch (-want +got):\n%s", diff)
		}
		if got := srv.uploadPacks.Load() - packsBefore; got != 0 {
			t.Errorf("object downloads = %d, want 0", got)
		}
		if got, want := objectCount(t, gitDir), 5; got != want {
			t.Errorf("objects = %d, want %d", got, want)
		}
	})

	c4 := fx.repo.CommitFiles("c4", map[string]string{"README.md": "v4\n"})
	t.Run("a new commit is fetched incrementally", func(t *testing.T) {
		next, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if diff := cmp.Diff("main@sha1:"+c4, next.Revision); diff != "" {
			t.Errorf("revision mismatch (-want +got):\n%s", diff)
		}
		want := map[string]string{"README.md": "v4\n", "deploy/app.yaml": "kind: App\n"}
		if diff := cmp.Diff(want, readTree(t, next.Dir)); diff != "" {
			t.Errorf("new tree mismatch (-want +got):\n%s", diff)
		}
		// Only the new commit, its root tree and the changed blob.
		if got, want := objectCount(t, gitDir), 5+3; got != want {
			t.Errorf("objects = %d, want %d", got, want)
		}
		if next.Dir == first.Dir {
			t.Errorf("new commit reuses the directory %s of the old one", first.Dir)
		}
		if diff := cmp.Diff(fx.tree(fx.c2), readTree(t, first.Dir)); diff != "" {
			t.Errorf("old tree changed (-want +got):\n%s", diff)
		}
	})

	t.Run("a revert to content older than the cache is fetched incrementally", func(t *testing.T) {
		before := objectCount(t, gitDir)
		c5 := fx.repo.CommitFiles("c5", map[string]string{"README.md": "v1\n"})
		got, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if diff := cmp.Diff(c5, got.Commit); diff != "" {
			t.Errorf("commit mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(fx.tree(fx.c1), readTree(t, got.Dir)); diff != "" {
			t.Errorf("tree mismatch (-want +got):\n%s", diff)
		}
		// The commit, its root tree and the README blob of c1, which the
		// shallow cache never had.
		if got, want := objectCount(t, gitDir), before+3; got != want {
			t.Errorf("objects = %d, want %d", got, want)
		}
	})

	t.Run("a force-pushed branch is fetched", func(t *testing.T) {
		fx.repo.Git("reset", "--quiet", "--hard", fx.c3)
		got, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		fx.checkFetched(t, got, fx.c3)
	})

	t.Run("two commits are materialised side by side", func(t *testing.T) {
		base, err := f.Fetch(t.Context(), Options{URL: opts.URL, Ref: Ref{Commit: fx.c1}})
		if err != nil {
			t.Fatalf("Fetch base: %v", err)
		}
		head, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatalf("Fetch head: %v", err)
		}
		got := map[string]map[string]string{"base": readTree(t, base.Dir), "head": readTree(t, head.Dir)}
		want := map[string]map[string]string{
			"base": fx.tree(fx.c1),
			"head": fx.tree(fx.c3),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("trees mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("a cached commit is served without contacting the remote", func(t *testing.T) {
		before := srv.requests.Load()
		got, err := f.Fetch(t.Context(), Options{URL: opts.URL, Ref: Ref{Commit: fx.c2}})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if diff := cmp.Diff(first.Dir, got.Dir); diff != "" {
			t.Errorf("dir mismatch (-want +got):\n%s", diff)
		}
		if n := srv.requests.Load() - before; n != 0 {
			t.Errorf("requests to the remote = %d, want 0", n)
		}
	})
}

func TestFetchRecoversFromBrokenCache(t *testing.T) {
	fx := newFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	opts := Options{URL: srv.URL + "/app.git", Ref: Ref{Branch: "main"}}

	tests := []struct {
		name   string
		damage func(t *testing.T, f *Fetcher, gitDir string)
	}{
		{
			name: "the whole cache directory was deleted",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				removeAll(t, f.dir)
			},
		},
		{
			name: "the pack files were overwritten with garbage",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				packs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*"))
				if len(packs) == 0 {
					t.Fatal("no pack files to corrupt")
				}
				for _, p := range packs {
					gitfixture.WriteFile(t, p, []byte("garbage"))
				}
				removeAll(t, filepath.Join(filepath.Dir(gitDir), "trees"))
			},
		},
		{
			name: "the objects were deleted but the refs kept",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				removeAll(t, filepath.Join(gitDir, "objects"))
				removeAll(t, filepath.Join(filepath.Dir(gitDir), "trees"))
			},
		},
		{
			name: "the repository directory was emptied",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				removeAll(t, gitDir)
				if err := os.Mkdir(gitDir, 0o755); err != nil {
					t.Fatal(err)
				}
				removeAll(t, filepath.Join(filepath.Dir(gitDir), "trees"))
			},
		},
		{
			name: "the repository lost its HEAD and config",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				removeAll(t, filepath.Join(gitDir, "HEAD"))
				removeAll(t, filepath.Join(gitDir, "config"))
				removeAll(t, filepath.Join(filepath.Dir(gitDir), "trees"))
			},
		},
		{
			name: "a tree directory was replaced by a file",
			damage: func(t *testing.T, f *Fetcher, gitDir string) {
				tree := filepath.Join(filepath.Dir(gitDir), "trees", fx.c2)
				removeAll(t, tree)
				gitfixture.WriteFile(t, tree, []byte("x"))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFetcher(t)
			if _, err := f.Fetch(t.Context(), opts); err != nil {
				t.Fatalf("first Fetch: %v", err)
			}
			tc.damage(t, f, cacheGitDir(t, f))
			got, err := f.Fetch(t.Context(), opts)
			if err != nil {
				t.Fatalf("Fetch after breaking the cache: %v", err)
			}
			fx.checkFetched(t, got, fx.c2)
		})
	}
}

func TestConcurrentFetchesOfOneURLAgree(t *testing.T) {
	fx := newFixture(t)
	f := newTestFetcher(t)
	refs := []Ref{{Branch: "main"}, {Branch: "main"}, {Tag: "v1"}, {Commit: fx.c0}, {Branch: "feature"}, {}}
	got := make([]string, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			a, err := f.Fetch(t.Context(), Options{URL: fx.repo.Dir, Ref: ref})
			errs[i] = err
			if err == nil {
				got[i] = a.Commit
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Fetch %s: %v", refs[i], err)
		}
	}
	want := []string{fx.c2, fx.c2, fx.c1, fx.c0, fx.c3, fx.c2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commits mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchFollowsRewrittenHistory(t *testing.T) {
	fx := newFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	f := newTestFetcher(t)
	url := srv.URL + "/app.git"
	if _, err := f.Fetch(t.Context(), Options{URL: url, Ref: Ref{Branch: "main"}}); err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	// main now forks below the cached commit, whose parent the cache lacks.
	fx.repo.Git("reset", "--quiet", "--hard", fx.c3)

	for _, tc := range []struct {
		name string
		ref  Ref
		want string
	}{
		{name: "the rewritten branch is fetched", ref: Ref{Branch: "main"}, want: fx.c3},
		{name: "the commit below the old cache is fetched", ref: Ref{Commit: fx.c1}, want: fx.c1},
		{name: "the root commit is fetched", ref: Ref{Commit: fx.c0}, want: fx.c0},
		{name: "the abandoned commit is still served from the cache", ref: Ref{Commit: fx.c2}, want: fx.c2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Fetch(t.Context(), Options{URL: url, Ref: tc.ref})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			fx.checkFetched(t, got, tc.want)
			t.Logf("objects in cache: %d", objectCount(t, cacheGitDir(t, f)))
		})
	}
}

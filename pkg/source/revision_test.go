package source

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// history is an upstream repository made with the git CLI:
//
//	c1 (tag v1, annotated) - c2 (tag light) - c3 - m (main: merge of feature)
//	                            \- c4 (feature) -/
type history struct {
	up                *gitfixture.Repo
	c1, c2, c3, c4, m string
}

func newHistory(t *testing.T, root string) *history {
	t.Helper()
	h := &history{up: gitfixture.NewAt(t, filepath.Join(root, "upstream"))}
	h.c1 = h.up.CommitFiles("one", map[string]string{"f": "1"})
	h.up.Git("tag", "-a", "v1", "-m", "release v1")
	h.c2 = h.up.CommitFiles("two", map[string]string{"f": "2"})
	h.up.Git("tag", "light")
	h.up.Git("checkout", "-q", "-b", "feature")
	h.c4 = h.up.CommitFiles("feature", map[string]string{"g": "4"})
	h.up.Git("checkout", "-q", "main")
	h.c3 = h.up.CommitFiles("three", map[string]string{"f": "3"})
	h.up.Git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	h.m = h.up.Git("rev-parse", "HEAD")
	return h
}

// revParse is what git itself resolves spec to in dir, or "" when git
// cannot.
func revParse(dir, spec string) string {
	cmd := gitfixture.Command(context.Background(), dir, "rev-parse", "--verify", "--quiet", spec+"^{commit}")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// resolveCase is one revision and the commit it must name ("" when it must
// fail with an error wrapping wantErr and containing wantMsg).
type resolveCase struct {
	spec    string
	want    string
	wantErr error
	wantMsg string
}

func checkResolve(t *testing.T, dir string, tests []resolveCase) {
	t.Helper()
	repo, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.spec), func(t *testing.T) {
			got, err := repo.Resolve(tt.spec)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if got.Commit != tt.want {
					t.Errorf("commit %s, want %s", got.Commit, tt.want)
				}
				// The table itself must agree with git.
				if g := revParse(dir, tt.spec); g != tt.want {
					t.Errorf("git rev-parse says %q, the table %s", g, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("resolved to %s, want an error", got.Commit)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
			if g := revParse(dir, tt.spec); g != "" && tt.wantErr != nil {
				t.Errorf("git resolves %q to %s, but Resolve failed", tt.spec, g)
			}
		})
	}
}

func TestResolveInAFullClone(t *testing.T) {
	root := t.TempDir()
	h := newHistory(t, root)
	gitfixture.Git(t, root, "clone", "-q", h.up.Dir, "clone")
	dir := filepath.Join(root, "clone")
	checkResolve(t, dir, []resolveCase{
		{spec: "HEAD", want: h.m},
		{spec: "@", want: h.m},
		{spec: "HEAD^", want: h.c3},
		{spec: "HEAD^1", want: h.c3},
		{spec: "HEAD^2", want: h.c4},
		{spec: "HEAD^0", want: h.m},
		{spec: "HEAD~1", want: h.c3},
		{spec: "HEAD~2", want: h.c2},
		{spec: "HEAD~3", want: h.c1},
		{spec: "HEAD^^", want: h.c2},
		{spec: "HEAD~1^", want: h.c2},
		{spec: "@~1", want: h.c3},
		{spec: "HEAD^2~1", want: h.c2},
		{spec: "main", want: h.m},
		{spec: "heads/main", want: h.m},
		{spec: "refs/heads/main", want: h.m},
		{spec: "origin/main", want: h.m},
		{spec: "origin", want: h.m},
		{spec: "refs/remotes/origin/main", want: h.m},
		{spec: "origin/feature", want: h.c4},
		{spec: "origin/feature~1", want: h.c2},
		{spec: "v1", want: h.c1},
		{spec: "refs/tags/v1", want: h.c1},
		{spec: "v1^{commit}", want: h.c1},
		{spec: "v1^{}", want: h.c1},
		{spec: "light", want: h.c2},
		{spec: h.m, want: h.m},
		{spec: strings.ToUpper(h.c2), want: h.c2},
		{spec: h.c3[:7], want: h.c3},
		{spec: h.c4[:12] + "~1", want: h.c2},

		{spec: "nope", wantErr: ErrRefNotFound, wantMsg: "git fetch --depth=1 origin nope, then give origin/nope"},
		{spec: "origin/nope", wantErr: ErrRefNotFound, wantMsg: "fetch it first: git fetch --depth=1 origin nope"},
		{spec: "feature", wantErr: ErrRefNotFound, wantMsg: "there is origin/feature"},
		{spec: strings.Repeat("e", 40), wantErr: ErrRefNotFound, wantMsg: "git fetch --depth=1 origin " + strings.Repeat("e", 40)},
		{spec: "refs/remotes/pull/7/merge", wantErr: ErrRefNotFound, wantMsg: "git fetch --depth=1 origin +refs/pull/7/merge:refs/remotes/pull/7/merge"},
		{spec: "HEAD~4", wantMsg: "has no parent (it is the first commit)"},
		{spec: "HEAD^3", wantMsg: "has 2 parent(s), not 3"},
		{spec: "HEAD@{1}", wantMsg: "not supported"},
		{spec: "HEAD:f", wantMsg: "names a path"},
		{spec: "HEAD^{tree}", wantMsg: "not supported"},
		{spec: "main..feature", wantMsg: "not a valid revision"},
		{spec: "", wantMsg: "empty revision"},
	})

	t.Run("the revision string names the spec unless it is a SHA", func(t *testing.T) {
		repo, err := OpenLocal(filepath.Join(dir, "."))
		if err != nil {
			t.Fatal(err)
		}
		for spec, want := range map[string]string{
			"HEAD~1":   "HEAD~1@sha1:" + h.c3,
			h.c3[:9]:   "sha1:" + h.c3,
			h.c3:       "sha1:" + h.c3,
			"v1":       "v1@sha1:" + h.c1,
			h.c3 + "^": h.c3 + "^@sha1:" + h.c2,
		} {
			got, err := repo.Resolve(spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != want {
				t.Errorf("Resolve(%q).Revision = %q, want %q", spec, got.Revision, want)
			}
		}
	})
}

// TestResolveInCIClones resolves revisions in the checkouts CI systems make:
// shallow, single-branch, detached.
func TestResolveInCIClones(t *testing.T) {
	root := t.TempDir()
	h := newHistory(t, root)
	origin := filepath.Join(root, "origin.git")
	gitfixture.Git(t, root, "clone", "-q", "--bare", h.up.Dir, origin)
	// GitHub keeps the merge of a pull request in refs/pull/N/merge.
	gitfixture.Git(t, origin, "update-ref", "refs/pull/7/merge", h.m)
	url := "file://" + origin

	t.Run("git clone --depth 1 of a branch, then git fetch --depth 1 origin main", func(t *testing.T) {
		gitfixture.Git(t, root, "clone", "-q", "--depth", "1", "--branch", "feature", url, "shallow")
		dir := filepath.Join(root, "shallow")
		gitfixture.Git(t, dir, "fetch", "-q", "--depth", "1", "origin", "main")
		checkResolve(t, dir, []resolveCase{
			{spec: "HEAD", want: h.c4},
			{spec: "feature", want: h.c4},
			{spec: "origin/feature", want: h.c4},
			{spec: "FETCH_HEAD", want: h.m},
			{spec: h.m, want: h.m},
			{spec: h.m[:8], want: h.m},
			{spec: "HEAD~1", wantErr: ErrRefNotFound, wantMsg: "(a shallow clone): deepen it first: git fetch --deepen=1 origin"},
			{spec: h.m + "^2", wantErr: ErrRefNotFound, wantMsg: "git fetch --deepen=1 origin"},
			{spec: h.m + "^1", wantErr: ErrRefNotFound, wantMsg: "git fetch --deepen=1 origin"},
			// The clone's refspec covers feature alone: say where main goes.
			{spec: "origin/main", wantErr: ErrRefNotFound, wantMsg: "a shallow clone: it holds only what was fetched); fetch it first: git fetch --depth=1 origin main:refs/remotes/origin/main"},
			{spec: h.c2, wantErr: ErrRefNotFound, wantMsg: "git fetch --depth=1 origin " + h.c2},
		})
		gitfixture.Git(t, dir, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
		checkResolve(t, dir, []resolveCase{{spec: "origin/main", want: h.m}})
	})

	t.Run("GitHub Actions: detached at the pull request's merge ref", func(t *testing.T) {
		dir := filepath.Join(root, "actions")
		gitfixture.Git(t, root, "init", "-q", dir)
		gitfixture.Git(t, dir, "remote", "add", "origin", url)
		gitfixture.Git(t, dir, "fetch", "-q", "--depth=1", "origin", "+refs/pull/7/merge:refs/remotes/pull/7/merge")
		gitfixture.Git(t, dir, "checkout", "-q", "--detach", "refs/remotes/pull/7/merge")
		gitfixture.Git(t, dir, "fetch", "-q", "--depth=1", "origin", "feature")
		checkResolve(t, dir, []resolveCase{
			{spec: "HEAD", want: h.m},
			{spec: "refs/remotes/pull/7/merge", want: h.m},
			{spec: "pull/7/merge", want: h.m},
			{spec: "origin/feature", want: h.c4},
			{spec: "HEAD^1", wantErr: ErrRefNotFound, wantMsg: "deepen it first"},
			// The default refspec covers every branch: the short form works.
			{spec: "origin/main", wantErr: ErrRefNotFound, wantMsg: "fetch it first: git fetch --depth=1 origin main"},
		})
	})

	t.Run("a subdirectory of the work tree opens the repository", func(t *testing.T) {
		sub := filepath.Join(root, "actions", "deep", "er")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		repo, err := OpenLocal(sub)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := filepath.EvalSymlinks(filepath.Join(root, "actions"))
		if repo.Top() != want {
			t.Errorf("Top() = %s, want %s", repo.Top(), want)
		}
	})

	t.Run("a directory outside any repository", func(t *testing.T) {
		_, err := OpenLocal(t.TempDir())
		if !errors.Is(err, ErrNotARepository) {
			t.Errorf("error %v, want ErrNotARepository", err)
		}
	})
}

// TestResolveAmbiguousShortSHA makes two commits whose SHAs share their
// first four hex digits: the short SHA lists both, a longer one resolves.
func TestResolveAmbiguousShortSHA(t *testing.T) {
	root := t.TempDir()
	r := gitfixture.NewAt(t, filepath.Join(root, "repo"))
	base := r.CommitFiles("base", map[string]string{"f": "1"})
	tree := r.Git("rev-parse", "HEAD^{tree}")
	body := func(i int) string {
		return fmt.Sprintf("tree %s\nparent %s\nauthor test <test@example.com> 1700000000 +0000\ncommitter test <test@example.com> 1700000000 +0000\n\nattempt %d\n", tree, base, i)
	}
	seen := map[string]int{}
	var a, b int
	for i := 0; ; i++ {
		sum := fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("commit %d\x00%s", len(body(i)), body(i)))))
		if j, ok := seen[sum[:4]]; ok {
			a, b = j, i
			break
		}
		seen[sum[:4]] = i
	}
	var shas []string
	for _, i := range []int{a, b} {
		cmd := gitfixture.Command(t.Context(), r.Dir, "hash-object", "-t", "commit", "-w", "--stdin")
		cmd.Stdin = strings.NewReader(body(i))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git hash-object: %v", err)
		}
		shas = append(shas, string(bytes.TrimSpace(out)))
	}
	prefix := shas[0][:4]
	if shas[1][:4] != prefix {
		t.Fatalf("commits %v do not share a prefix", shas)
	}
	distinct := 4
	for shas[0][distinct-1] == shas[1][distinct-1] {
		distinct++
	}
	checkResolve(t, r.Dir, []resolveCase{
		{spec: prefix, wantErr: ErrAmbiguousRevision, wantMsg: "is ambiguous: it matches " + minSHA(shas)[:12]},
		{spec: shas[0][:distinct], want: shas[0]},
		{spec: shas[1][:distinct], want: shas[1]},
	})
	repo, err := OpenLocal(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Resolve(prefix)
	for _, s := range shas {
		if !strings.Contains(err.Error(), s[:12]+" commit 2023-11-14 attempt") {
			t.Errorf("error %q does not list %s with its date and subject", err, s)
		}
	}
	if revParse(r.Dir, prefix) != "" {
		t.Errorf("git resolves the ambiguous %s", prefix)
	}
}

func minSHA(s []string) string {
	if s[0] < s[1] {
		return s[0]
	}
	return s[1]
}

func TestCheckoutLocalCommit(t *testing.T) {
	root := t.TempDir()
	r := gitfixture.NewAt(t, filepath.Join(root, "repo"))
	first := r.CommitFiles("one", map[string]string{"base/a.yaml": "a: 1\n", "b.yaml": "b\n"})
	r.Symlink("base/out", "../../../etc/passwd")
	r.Symlink("base/in", "a.yaml")
	second := r.CommitFiles("two", map[string]string{"base/a.yaml": "a: 2\n", "b.yaml": ""})
	// Uncommitted edits are not part of a commit.
	r.Write("base/a.yaml", "a: dirty\n")

	repo, err := OpenLocal(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	tests := []struct {
		commit string
		want   map[string]string
	}{
		{first, map[string]string{"base/a.yaml": "a: 1\n", "b.yaml": "b\n"}},
		{second, map[string]string{
			"base/a.yaml": "a: 2\n",
			"base/in":     "-> a.yaml",
			"base/out":    "-> " + escapingLinkTarget("../../../etc/passwd"),
		}},
	}
	for _, tt := range tests {
		dir, err := repo.Checkout(t.Context(), tt.commit, cache)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, readTree(t, dir)); diff != "" {
			t.Errorf("tree of %s (-want +got):\n%s", tt.commit, diff)
		}
		again, err := repo.Checkout(t.Context(), tt.commit, cache)
		if err != nil || again != dir {
			t.Errorf("second checkout gave %s, %v; want the cached %s", again, err, dir)
		}
	}
	if _, err := repo.Checkout(t.Context(), "HEAD", cache); err == nil {
		t.Error("Checkout took a name that is not a full SHA")
	}
}

package source

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// dirtyRepo is a repository whose work tree differs from HEAD in every way
// git diff HEAD can see, and holds files git ignores.
func dirtyRepo(t *testing.T) *gitfixture.Repo {
	t.Helper()
	r := gitfixture.NewAt(t, filepath.Join(t.TempDir(), "repo"))
	r.CommitFiles("one", map[string]string{
		".gitignore":         "*.secret\nbuild/\n",
		"a.yaml":             "a: committed\n",
		"gone.yaml":          "gone\n",
		"sub/.gitignore":     "local.yaml\n",
		"sub/ok.yaml":        "ok\n",
		"sub/deeper/x.yaml":  "x\n",
		"overlays/p/k.yaml":  "k\n",
		"overlays/q/k2.yaml": "k2\n",
	})
	// A tracked file below an ignored directory stays, as in git.
	r.Write("build/keep.yaml", "keep\n")
	r.Git("add", "-f", "build/keep.yaml")
	r.Git("commit", "-q", "-m", "keep")

	r.Write("a.yaml", "a: edited\n")           // modified, not staged
	r.Write("new.yaml", "new\n")               // untracked
	r.Write("staged.yaml", "staged\n")         // added to the index only
	r.Write("x.secret", "password\n")          // ignored by pattern
	r.Write("build/gen.yaml", "generated\n")   // in an ignored directory
	r.Write("sub/local.yaml", "mine\n")        // ignored by sub/.gitignore
	r.Write("sub/deeper/local.yaml", "mine\n") // and below it
	r.Write("excluded.yaml", "excluded\n")     // ignored by .git/info/exclude
	r.Write("nested/file.yaml", "not ours\n")  // inside it
	r.Write(".git/info/exclude", "excluded.yaml\n")
	// Another repository, with a commit, inside this one.
	gitfixture.Git(t, r.Dir, "init", "-q", "nested")
	gitfixture.Git(t, filepath.Join(r.Dir, "nested"), "commit", "-q", "--allow-empty", "-m", "theirs")
	r.Git("add", "staged.yaml")
	if err := os.Remove(filepath.Join(r.Dir, "gone.yaml")); err != nil {
		t.Fatal(err)
	}
	r.Symlink("link", "a.yaml")
	r.Symlink("sub/escape", "/etc/passwd")
	return r
}

func TestSnapshotIsTheWorkTreeAsGitSeesIt(t *testing.T) {
	r := dirtyRepo(t)
	repo, err := OpenLocal(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sub  string
		want map[string]string
	}{
		{
			name: "the whole work tree",
			want: map[string]string{
				".gitignore":         "*.secret\nbuild/\n",
				"a.yaml":             "a: edited\n",
				"build/keep.yaml":    "keep\n",
				"new.yaml":           "new\n",
				"staged.yaml":        "staged\n",
				"link":               "-> a.yaml",
				"sub/.gitignore":     "local.yaml\n",
				"sub/ok.yaml":        "ok\n",
				"sub/deeper/x.yaml":  "x\n",
				"sub/escape":         "-> " + escapingLinkTarget("/etc/passwd"),
				"overlays/p/k.yaml":  "k\n",
				"overlays/q/k2.yaml": "k2\n",
			},
		},
		{
			name: "one subdirectory, with the ignore rules above it",
			sub:  "sub",
			want: map[string]string{
				"sub/.gitignore":    "local.yaml\n",
				"sub/ok.yaml":       "ok\n",
				"sub/deeper/x.yaml": "x\n",
				"sub/escape":        "-> " + escapingLinkTarget("/etc/passwd"),
			},
		},
		{
			name: "a nested subdirectory",
			sub:  "overlays/p/",
			want: map[string]string{"overlays/p/k.yaml": "k\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			if err := repo.Snapshot(t.Context(), tt.sub, dst, SnapshotOptions{}); err != nil {
				t.Fatal(err)
			}
			got := readTree(t, dst)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			// git's own list of what git diff HEAD sees must match.
			var gitPaths []string
			cached := gitfixture.Git(t, r.Dir, "ls-files", "--cached", "--", "./"+tt.sub)
			others := gitfixture.Git(t, r.Dir, "ls-files", "--others", "--exclude-standard", "--", "./"+tt.sub)
			deleted := strings.Split(gitfixture.Git(t, r.Dir, "ls-files", "--deleted"), "\n")
			for _, p := range strings.Split(cached+"\n"+others, "\n") {
				if p != "" && !strings.HasSuffix(p, "/") && !slices.Contains(deleted, p) {
					gitPaths = append(gitPaths, p)
				}
			}
			paths := slices.Sorted(maps.Keys(got))
			slices.Sort(gitPaths)
			if diff := cmp.Diff(gitPaths, paths); diff != "" {
				t.Errorf("paths (-git +snapshot):\n%s", diff)
			}
		})
	}

	t.Run("a work tree over the size limit is an error naming the limit", func(t *testing.T) {
		err := repo.Snapshot(t.Context(), "", t.TempDir(), SnapshotOptions{MaxBytes: 20})
		if err == nil || !strings.Contains(err.Error(), "more than 20 bytes") {
			t.Errorf("error %v, want the limit named", err)
		}
	})
}

func TestSnapshotOfARepositoryWithoutCommits(t *testing.T) {
	r := gitfixture.NewAt(t, filepath.Join(t.TempDir(), "repo"))
	r.Write("k.yaml", "k\n")
	repo, err := OpenLocal(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := repo.Snapshot(t.Context(), "", dst, SnapshotOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"k.yaml": "k\n"}, readTree(t, dst)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

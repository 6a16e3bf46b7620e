package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestPlanReadsALocalCloneAsItIs plans with every revision form against a
// clone made with the git CLI, the example repository in a subdirectory of
// it, and the working tree as head.
func TestPlanReadsALocalCloneAsItIs(t *testing.T) {
	repo := gitfixture.New(t)
	gitfixture.CopyTree(t, exampleRepo, filepath.Join(repo.Dir, "mesh"))
	repo.Write(".gitignore", "*.local.yaml\n")
	mainSHA := repo.Commit("bookinfo mesh")
	repo.Git("tag", "-a", "v1", "-m", "v1")
	repo.Git("checkout", "-q", "-b", "canary")
	repo.Edit("mesh/overlays/prod/reviews.yaml", "weight: 80", "weight: 60")
	repo.Edit("mesh/overlays/prod/reviews.yaml", "weight: 15", "weight: 35")
	canarySHA := repo.Commit("canary: more reviews v2")
	mesh := filepath.Join(repo.Dir, "mesh")
	changed := []string{"changed VirtualService/bookinfo/reviews"}
	none := []string{}

	tests := []struct {
		name       string
		dir        string
		base, head string
		want       []string
		wantHead   string
	}{
		{"HEAD~1 to HEAD", mesh, "HEAD~1", "HEAD", changed, "HEAD@sha1:" + canarySHA},
		{"HEAD^ to @", mesh, "HEAD^", "@", changed, "@@sha1:" + canarySHA},
		{"branches", mesh, "main", "canary", changed, "canary@sha1:" + canarySHA},
		{"an annotated tag and refs/heads", mesh, "v1", "refs/heads/canary", changed, "refs/heads/canary@sha1:" + canarySHA},
		{"a short and a full SHA", mesh, mainSHA[:7], canarySHA, changed, "sha1:" + canarySHA},
		{"the same commit twice", mesh, "canary", "HEAD", none, "HEAD@sha1:" + canarySHA},
		{"from the top of the work tree", repo.Dir, "main", "HEAD", changed, "HEAD@sha1:" + canarySHA},
		{"the working tree, clean", mesh, "HEAD", "", none, "working tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "overlays/prod"
			if tt.dir == repo.Dir {
				path = "mesh/overlays/prod"
			}
			args := []string{tt.dir, "--base", tt.base, "--path", path, "--cache-dir", t.TempDir()}
			if tt.head != "" {
				args = append(args, "--head", tt.head)
			}
			res := planChanges(t, tt.want, args...)
			if res.Head != tt.wantHead {
				t.Errorf("head %q, want %q", res.Head, tt.wantHead)
			}
		})
	}

	t.Run("the working tree with uncommitted and untracked files, ignored ones left out", func(t *testing.T) {
		repo.Edit("mesh/overlays/prod/reviews.yaml", "weight: 60", "weight: 50")
		repo.Edit("mesh/overlays/prod/reviews.yaml", "weight: 35", "weight: 45")
		repo.Write("mesh/base/extra.yaml", "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: extra, namespace: bookinfo, labels: {team: books}}\nspec:\n  versions: [{name: v1}]\n  trafficPolicy: {tls: ISTIO_MUTUAL}\n")
		// Ignored: if the snapshot held it, it would add an intent.
		repo.Write("mesh/base/ignored.local.yaml", "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: ignored, namespace: bookinfo}\nspec:\n  versions: [{name: v1}]\n")
		repo.Edit("mesh/base/kustomization.yaml", "- ratings.yaml", "- ratings.yaml\n- extra.yaml")
		t.Cleanup(func() {
			repo.Git("checkout", "-q", "--", ".")
			os.Remove(filepath.Join(mesh, "base", "extra.yaml"))
			os.Remove(filepath.Join(mesh, "base", "ignored.local.yaml"))
		})
		want := []string{
			"added DestinationRule/bookinfo/extra",
			"added VirtualService/bookinfo/extra",
			"changed VirtualService/bookinfo/reviews",
		}
		planChanges(t, want, mesh, "--base", "HEAD", "--path", "overlays/prod", "--cache-dir", t.TempDir())
		// An ignored file the kustomization names is missing, as in a commit.
		repo.Edit("mesh/base/kustomization.yaml", "- extra.yaml", "- extra.yaml\n- ignored.local.yaml")
		refuse(t, "ignored.local.yaml", "plan", mesh, "--base", "HEAD", "--path", "overlays/prod", "--cache-dir", t.TempDir())
	})

	t.Run("a missing revision exits 2 and says how to fetch it", func(t *testing.T) {
		refuse(t, "git fetch --depth=1 origin main", "plan", mesh, "--base", "origin/main", "--head", "HEAD", "--cache-dir", t.TempDir())
	})

	t.Run("--repo needs --head", func(t *testing.T) {
		refuse(t, "needs --head", "plan", "--repo", repo.URL(), "--base", "main")
	})

	t.Run("--repo still fetches branches", func(t *testing.T) {
		planChanges(t, changed, "--repo", repo.URL(), "--base", "main", "--head", "canary", "--path", "mesh/overlays/prod", "--cache-dir", t.TempDir())
	})

	t.Run("a directory outside any repository", func(t *testing.T) {
		refuse(t, "not a git repository", "plan", t.TempDir(), "--base", "HEAD")
	})
}

// TestValidateLocalRef validates an older revision of a local clone with
// --ref while the files on disk are broken.
func TestValidateLocalRef(t *testing.T) {
	repo := newExampleRepo(t)
	addBadWeights(repo, badWeightsVS(t))
	repo.Commit("bad weights")
	dir := filepath.Join(repo.Dir, "overlays", "prod")
	tests := []struct {
		ref  string
		want int
	}{
		{"HEAD~1", ExitOK},
		{"HEAD", ExitDenied},
		{"main~1", ExitOK},
		{"", ExitDenied},
	}
	for _, tt := range tests {
		t.Run("--ref "+tt.ref, func(t *testing.T) {
			args := []string{"validate", dir, "--cache-dir", t.TempDir()}
			if tt.ref != "" {
				args = append(args, "--ref", tt.ref)
			}
			if code, stdout, stderr := run(t, args...); code != tt.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.want, stdout, stderr)
			}
		})
	}
}

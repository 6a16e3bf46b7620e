package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/output"
)

// planChanges runs plan with -o json and returns "action id" per change
// (an empty list, not nil, when nothing changes) and the whole result.
func planChanges(t *testing.T, args ...string) (changes []string, res output.PlanResult) {
	t.Helper()
	args = append([]string{"plan"}, args...)
	code, stdout, stderr := run(t, append(args, "-o", "json")...)
	if code != ExitOK {
		t.Fatalf("plan %v: exit %d\n%s%s", args, code, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, stdout)
	}
	changes = []string{}
	for _, c := range res.Changes {
		changes = append(changes, string(c.Action)+" "+c.ID)
	}
	return changes, res
}

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
			got, res := planChanges(t, args...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
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
		got, _ := planChanges(t, mesh, "--base", "HEAD", "--path", "overlays/prod", "--cache-dir", t.TempDir())
		want := []string{
			"added DestinationRule/bookinfo/extra",
			"added VirtualService/bookinfo/extra",
			"changed VirtualService/bookinfo/reviews",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		// An ignored file the kustomization names is missing, as in a commit.
		repo.Edit("mesh/base/kustomization.yaml", "- extra.yaml", "- extra.yaml\n- ignored.local.yaml")
		code, _, stderr := run(t, "plan", mesh, "--base", "HEAD", "--path", "overlays/prod", "--cache-dir", t.TempDir())
		if code != ExitError || !strings.Contains(stderr, "ignored.local.yaml") {
			t.Errorf("exit %d, stderr %q; want 2 naming the ignored file", code, stderr)
		}
	})

	t.Run("a missing revision exits 2 and says how to fetch it", func(t *testing.T) {
		code, _, stderr := run(t, "plan", mesh, "--base", "origin/main", "--head", "HEAD", "--cache-dir", t.TempDir())
		if code != ExitError || !strings.Contains(stderr, "git fetch --depth=1 origin main") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("--repo needs --head", func(t *testing.T) {
		code, _, stderr := run(t, "plan", "--repo", repo.URL(), "--base", "main")
		if code != ExitError || !strings.Contains(stderr, "needs --head") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("--repo still fetches branches", func(t *testing.T) {
		got, _ := planChanges(t, "--repo", repo.URL(), "--base", "main", "--head", "canary", "--path", "mesh/overlays/prod", "--cache-dir", t.TempDir())
		if diff := cmp.Diff(changed, got); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
	})

	t.Run("a directory outside any repository", func(t *testing.T) {
		code, _, stderr := run(t, "plan", t.TempDir(), "--base", "HEAD")
		if code != ExitError || !strings.Contains(stderr, "not a git repository") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
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

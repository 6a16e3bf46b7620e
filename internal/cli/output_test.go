package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/output"
)

// TestValidateLocatesFindingsThroughOverlays turns TLS off for reviews in
// the prod overlay: the meshintent.tls warning about the generated
// DestinationRule must point at the intent's trafficPolicy.tls line in
// base/reviews.yaml and at the overlay line that set DISABLE, in every
// format.
func TestValidateLocatesFindingsThroughOverlays(t *testing.T) {
	repo := newExampleRepo(t)
	repo.Edit("overlays/prod/reviews.yaml", `suspended until the fix ships"`, "suspended until the fix ships\"\n  trafficPolicy:\n    tls: DISABLE")
	repo.Commit("prod: no TLS for reviews")
	dir := repo.Dir + "/overlays/prod"
	want := []output.Location{
		{File: "base/reviews.yaml", Line: 56},
		{File: "overlays/prod/reviews.yaml", Line: 18},
	}

	t.Run("json gives the intent line and the patch line", func(t *testing.T) {
		got := runJSON[output.ValidateResult](t, ExitOK, "validate", dir, "-o", "json")
		if got.APIVersion != output.APIVersion || got.Kind != output.KindValidateResult {
			t.Errorf("apiVersion %q kind %q", got.APIVersion, got.Kind)
		}
		f := findResult(t, got.Results, "meshintent.tls")
		if diff := cmp.Diff(want, f.Locations); diff != "" {
			t.Errorf("locations (-want +got):\n%s", diff)
		}
		if f.Line != 56 {
			t.Errorf("line %d, want 56", f.Line)
		}
	})
	t.Run("text names both lines", func(t *testing.T) {
		_, stdout, _ := run(t, "validate", dir)
		wantContains(t, "text", stdout, "WARN base/reviews.yaml:56 (set by overlays/prod/reviews.yaml:18): DestinationRule/bookinfo/reviews spec.trafficPolicy.tls.mode")
	})
	t.Run("github annotates both lines, from the Git work tree's root", func(t *testing.T) {
		_, stdout, _ := run(t, "validate", dir, "-o", "github")
		wantContains(t, "github output", stdout,
			"::warning file=base/reviews.yaml,line=56,title=meshintent.tls%3A DestinationRule/bookinfo/reviews spec.trafficPolicy.tls.mode::",
			"::warning file=overlays/prod/reviews.yaml,line=18,title=")
	})
	t.Run("an intent repository below the work tree's root is prefixed", func(t *testing.T) {
		sub := filepath.Join(t.TempDir(), "work")
		if err := os.MkdirAll(filepath.Join(sub, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		mesh := filepath.Join(sub, "deploy", "mesh")
		if err := os.CopyFS(mesh, os.DirFS(repo.Dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(mesh, ".git")); err != nil {
			t.Fatal(err)
		}
		_, stdout, _ := run(t, "validate", filepath.Join(sub, "deploy", "mesh", "overlays", "prod"), "-o", "github")
		wantContains(t, "github output", stdout, "::warning file=deploy/mesh/base/reviews.yaml,line=56,")
	})
	t.Run("markdown with --output-file writes the artifact too", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "validate.md")
		_, stdout, stderr := run(t, "validate", dir, "-o", "markdown", "--output-file", file)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		for what, s := range map[string]string{"markdown on stdout": stdout, "markdown file": string(b)} {
			wantContains(t, what, s, "`base/reviews.yaml:56`<br>`overlays/prod/reviews.yaml:18` (overlay)")
		}
	})
	t.Run("an unknown format is a usage error", func(t *testing.T) {
		refuse(t, "sarif", "validate", dir, "-o", "yaml")
	})
}

func findResult(t *testing.T, rs []output.Finding, policy string) output.Finding {
	t.Helper()
	for _, r := range rs {
		if r.Policy == policy {
			return r
		}
	}
	t.Fatalf("no %s result in %+v", policy, rs)
	return output.Finding{}
}

// TestValidateRefPrefixesFromTheRepository validates a revision of an
// intent repository that is a directory (deploy/mesh) of its Git
// repository: the revision is read into the cache, yet annotations name
// files from the Git repository's top, as CI checked it out.
func TestValidateRefPrefixesFromTheRepository(t *testing.T) {
	repo := gitfixture.New(t)
	gitfixture.CopyTree(t, exampleRepo, filepath.Join(repo.Dir, "deploy", "mesh"))
	repo.Commit("bookinfo mesh in deploy/mesh")
	repo.Edit("deploy/mesh/overlays/prod/reviews.yaml", `suspended until the fix ships"`, "suspended until the fix ships\"\n  trafficPolicy:\n    tls: DISABLE")
	repo.Commit("prod: no TLS for reviews")
	dir := filepath.Join(repo.Dir, "deploy", "mesh", "overlays", "prod")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"at a revision (--ref HEAD)", []string{"--ref", "HEAD", "--cache-dir", t.TempDir()}},
		{"as the directory is", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"validate", dir, "-o", "github"}, tc.args...)
			_, stdout, _ := run(t, args...)
			wantContains(t, "github output", stdout,
				"::warning file=deploy/mesh/base/reviews.yaml,line=56,",
				"::warning file=deploy/mesh/overlays/prod/reviews.yaml,line=18,")
		})
	}
}

package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadConfig writes files into a new repository and loads its
// meshintent.yaml. When wantError is set, the load must fail with an error
// containing it, and ok is false; otherwise it must succeed.
func loadConfig(t *testing.T, files map[string]string, wantError string) (cfg RepoConfig, root string, ok bool) {
	t.Helper()
	root = t.TempDir()
	write(t, root, files)
	cfg, err := LoadRepoConfig(root)
	if wantError != "" {
		if err == nil || !strings.Contains(err.Error(), wantError) {
			t.Fatalf("error %v, want it to contain %q", err, wantError)
		}
		return RepoConfig{}, root, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, root, true
}

func TestLoadRepoConfig(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		wantDirs  []string
		wantError string
	}{
		{name: "no file and no policies dir means no repository policies", files: map[string]string{"x.yaml": ""}},
		{name: "no file but a policies dir uses it", files: map[string]string{"policies/a.rego": "package a\n"}, wantDirs: []string{"policies"}},
		{name: "the file lists directories", files: map[string]string{"meshintent.yaml": "policies: [team, more/rules]\n", "team/a.rego": "", "more/rules/b.rego": ""}, wantDirs: []string{"team", "more/rules"}},
		{name: "an unknown field is an error", files: map[string]string{"meshintent.yaml": "polices: [team]\n"}, wantError: `meshintent.yaml: error unmarshaling JSON: while decoding JSON: json: unknown field "polices"`},
		{name: "a directory outside the repository is refused", files: map[string]string{"meshintent.yaml": "policies: [../elsewhere]\n"}, wantError: `policies[0]: "../elsewhere" is outside the repository`},
		{name: "a missing directory is an error", files: map[string]string{"meshintent.yaml": "policies: [nope]\n"}, wantError: `policies[0]: "nope" is not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, root, ok := loadConfig(t, tt.files, tt.wantError)
			if !ok {
				return
			}
			var got []string
			for _, d := range cfg.Policies {
				rel, _ := filepath.Rel(root, d)
				got = append(got, filepath.ToSlash(rel))
			}
			if diff := cmp.Diff(tt.wantDirs, got); diff != "" {
				t.Errorf("policy dirs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildExample(t *testing.T) {
	root, err := filepath.Abs("../../examples/repo")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the prod overlay passes the built-in and the repository's policies", func(t *testing.T) {
		out, err := Build(context.Background(), Options{Root: root, Path: "overlays/prod"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Report.Denied() {
			t.Errorf("denied: %+v", out.Report.Results)
		}
		if out.Report.Intents != len(out.Render.Intents) || out.Report.Objects != len(out.Render.Objects) {
			t.Errorf("report counted %d objects and %d intents, render made %d and %d",
				out.Report.Objects, out.Report.Intents, len(out.Render.Objects), len(out.Render.Intents))
		}
	})
	t.Run("a fence that leaves bookinfo out denies every bookinfo intent", func(t *testing.T) {
		out, err := Build(context.Background(), Options{Root: root, Path: "overlays/prod", Data: FenceData([]string{"shop"})})
		if err != nil {
			t.Fatal(err)
		}
		denied := map[string]bool{}
		for _, r := range out.Report.Filter("deny") {
			if r.Policy == "meshintent.tenancy" {
				denied[r.Object] = true
			}
		}
		for _, doc := range out.Render.Intents {
			if !denied[doc.ID()] {
				t.Errorf("%s was not denied by meshintent.tenancy", doc.ID())
			}
		}
	})
	t.Run("SkipPolicy renders only", func(t *testing.T) {
		out, err := Build(context.Background(), Options{Root: root, Path: "overlays/prod", SkipPolicy: true})
		if err != nil {
			t.Fatal(err)
		}
		if out.Report != nil || len(out.Render.Objects) == 0 {
			t.Errorf("report %v, %d objects", out.Report, len(out.Render.Objects))
		}
	})
}

// BenchmarkBuild measures render + policy gate (policy compilation
// included) of n generated ServiceIntents, as one reconcile pays it.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			root := b.TempDir()
			files := map[string]string{}
			var k strings.Builder
			k.WriteString("resources:\n")
			for i := range n {
				name := fmt.Sprintf("svc-%05d.yaml", i)
				k.WriteString("- " + name + "\n")
				files[name] = fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: svc-%05d, namespace: bench}
spec:
  versions: [{name: v1}, {name: v2}, {name: v3}]
  routes:
  - name: testers
    match: [{headers: {end-user: {exact: tester-%d}}}]
    to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  split: [{version: v1, weight: 70}, {version: v2, weight: 20}, {version: v3, weight: 10}]
  timeout: 2s
  retries: {attempts: 3, perTryTimeout: 500ms, retryOn: 5xx}
  trafficPolicy: {tls: ISTIO_MUTUAL}
`, i, i)
			}
			files["kustomization.yaml"] = k.String()
			write(b, root, files)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				out, err := Build(context.Background(), Options{Root: root, PolicyTimeout: time.Hour}) // throughput, not the budget
				if err != nil {
					b.Fatal(err)
				}
				if out.Report.Denied() {
					b.Fatalf("denied: %+v", out.Report.Results[0])
				}
			}
		})
	}
}

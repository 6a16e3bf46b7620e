package pipeline

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

func TestBuildExample(t *testing.T) {
	root, err := filepath.Abs("../../examples/repo")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the prod overlay passes the built-in and the repository's policies", func(t *testing.T) {
		out, err := Build(t.Context(), Options{Root: root, Path: "overlays/prod"})
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
		out, err := Build(t.Context(), Options{Root: root, Path: "overlays/prod", Data: FenceData([]string{"shop"})})
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
		out, err := Build(t.Context(), Options{Root: root, Path: "overlays/prod", SkipPolicy: true})
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
			names := make([]string, n)
			for i := range n {
				names[i] = fmt.Sprintf("svc-%05d.yaml", i)
				files[names[i]] = gitfixture.BenchIntent("bench", i)
			}
			files["kustomization.yaml"] = gitfixture.Kustomization(names...)
			gitfixture.WriteTree(b, root, files)
			b.ReportAllocs()
			for b.Loop() {
				out, err := Build(b.Context(), Options{Root: root, PolicyTimeout: time.Hour}) // throughput, not the budget
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

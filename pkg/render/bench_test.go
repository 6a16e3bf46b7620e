package render

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// BenchmarkRender renders a repository of N ServiceIntents (and a
// NamespaceIntent; 2N+2 objects) whose kustomization only lists the files:
// the fast path.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		root := b.TempDir()
		writeServices(b, root, seq(n))
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			benchRender(b, Options{Root: root}, false)
		})
	}
}

// BenchmarkRenderKustomize renders the same repositories with a labels
// transformer added, which kustomize must build; "cached" gives Render a
// warm Cache (the files are unchanged, so every render reuses the build).
func BenchmarkRenderKustomize(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		root := b.TempDir()
		writeServices(b, root, seq(n))
		k, err := os.ReadFile(filepath.Join(root, "kustomization.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		k = append(k, "labels:\n- pairs: {team: bench}\n"...)
		gitfixture.WriteFile(b, filepath.Join(root, "kustomization.yaml"), k)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			benchRender(b, Options{Root: root}, true)
		})
		cache := NewCache()
		if _, err := Render(b.Context(), Options{Root: root, Cache: cache}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("services=%d/cached", n), func(b *testing.B) {
			benchRender(b, Options{Root: root, Cache: cache}, false)
		})
	}
}

func benchRender(b *testing.B, opts Options, kustomized bool) {
	b.ReportAllocs()
	for b.Loop() {
		res, err := Render(b.Context(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Kustomized != kustomized {
			b.Fatalf("Kustomized = %v, want %v", res.Kustomized, kustomized)
		}
	}
}

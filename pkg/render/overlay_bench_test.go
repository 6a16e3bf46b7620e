package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// The overlays of the benchmark shapes, over a base written by
// writeServices (svc-00000 is its first service).
var overlayShapes = map[string]map[string]string{
	// overlays/prod adds a label and patches one object (JSON 6902).
	"labels+json6902": {
		"overlays/prod/kustomization.yaml": `resources:
- ../../base
labels:
- pairs: {env: prod}
patches:
- target: {kind: ServiceIntent, name: svc-00000}
  patch: |
    - op: replace
      path: /spec/timeout
      value: 3s
`,
	},
	// base → region → env, with commonAnnotations, namespace, labels, a
	// strategic-merge patch file and a JSON 6902 patch.
	"base-region-env": {
		"region/eu/kustomization.yaml": "resources:\n- ../../base\ncommonAnnotations: {region: eu}\n",
		"overlays/prod/kustomization.yaml": `resources:
- ../../region/eu
namespace: bench
labels:
- pairs: {env: prod}
patches:
- path: timeout.yaml
- target: {kind: ServiceIntent, name: svc-00000}
  patch: |
    - op: replace
      path: /spec/retries/attempts
      value: 5
`,
		"overlays/prod/timeout.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: svc-00000\n  namespace: bench\nspec:\n  timeout: 4s\n",
	},
}

// writeOverlayRepo writes n services into root/base and the files of the
// overlay shape; the overlay to build is overlays/prod.
func writeOverlayRepo(t testing.TB, root string, n int, shape map[string]string) {
	t.Helper()
	base := filepath.Join(root, "base")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	writeServices(t, base, seq(n))
	gitfixture.WriteTree(t, root, shape)
}

// BenchmarkRenderOverlay renders overlays of N services: the shapes real
// repositories have (see overlayShapes).
func BenchmarkRenderOverlay(b *testing.B) {
	for _, shape := range []string{"labels+json6902", "base-region-env"} {
		for _, n := range []int{100, 1000, 5000} {
			root := b.TempDir()
			writeOverlayRepo(b, root, n, overlayShapes[shape])
			b.Run(fmt.Sprintf("%s/services=%d", shape, n), func(b *testing.B) {
				benchOverlay(b, Options{Root: root, Path: "overlays/prod"})
			})
		}
	}
}

func benchOverlay(b *testing.B, opts Options) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderOverlayChange renders an overlay of N services with a
// cache after a one-line change of one base file, as the controller does
// on a push: the other files come from the cache.
func BenchmarkRenderOverlayChange(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		root := b.TempDir()
		writeOverlayRepo(b, root, n, overlayShapes["base-region-env"])
		opts := Options{Root: root, Path: "overlays/prod", Cache: NewCache()}
		if _, err := Render(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(root, "base", "svc-00002.yaml")
		content, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				b.StopTimer()
				changed := strings.Replace(string(content), "timeout: 2s", fmt.Sprintf("timeout: %ds", 3+i%50), 1)
				gitfixture.WriteFile(b, file, []byte(changed))
				b.StartTimer()
				if _, err := Render(b.Context(), opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

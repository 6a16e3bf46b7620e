package main

import (
	"path/filepath"
	"testing"

	"github.com/meshintent/meshintent/pkg/render"
)

// TestShapesTakeTheFastPath checks that meshintent's side of every shape
// the offline part times renders by the fast path: a shape kustomize
// builds would time krusty, not meshintent.
func TestShapesTakeTheFastPath(t *testing.T) {
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			ours, _, err := writeShape(t.Context(), t.TempDir(), s, "bench", 20)
			if err != nil {
				t.Fatal(err)
			}
			res, err := render.Render(t.Context(), render.Options{Root: ours, Path: filepath.FromSlash(s.target)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Fallback != "" {
				t.Errorf("Fallback = %q (%s), want the fast path", res.Fallback, res.FallbackDetail)
			}
			if len(res.Intents) != 20 {
				t.Errorf("%d intents, want 20", len(res.Intents))
			}
		})
	}
}

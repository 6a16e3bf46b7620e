package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

func TestCache(t *testing.T) {
	for _, kustomize := range []bool{false, true} {
		name := "fast path"
		if kustomize {
			name = "kustomize"
		}
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeServices(t, root, seq(5))
			if kustomize {
				k, _ := os.ReadFile(filepath.Join(root, "kustomization.yaml"))
				k = append(k, "labels:\n- pairs: {team: bench}\n"...)
				gitfixture.WriteFile(t, filepath.Join(root, "kustomization.yaml"), k)
			}
			cache := NewCache()
			opts := Options{Root: root, Cache: cache}
			render := func() []byte {
				t.Helper()
				res, err := Render(t.Context(), opts)
				if err != nil {
					t.Fatal(err)
				}
				b, err := res.Objects.YAML()
				if err != nil {
					t.Fatal(err)
				}
				// Whatever the caller does to the result must not reach the cache.
				for _, o := range res.Objects {
					o.SetLabels(map[string]string{"mutated": "yes"})
				}
				for _, d := range res.Intents {
					d.Raw["spec"] = "mutated"
				}
				return b
			}
			_, uncached := renderYAML(t, Options{Root: root})

			first := render()
			second := render()
			if hits, misses := cache.Stats(); hits != 1 || misses != 1 {
				t.Errorf("hits, misses = %d, %d, want 1, 1", hits, misses)
			}
			if !bytes.Equal(first, uncached) || !bytes.Equal(second, uncached) {
				t.Fatal("a cached render differs from an uncached one")
			}

			// A changed file is seen.
			p := filepath.Join(root, "svc-00003.yaml")
			b, _ := os.ReadFile(p)
			gitfixture.WriteFile(t, p, bytes.Replace(b, []byte("timeout: 2s"), []byte("timeout: 9s"), 1))
			third := render()
			if hits, misses := cache.Stats(); hits != 1 || misses != 2 {
				t.Errorf("hits, misses = %d, %d, want 1, 2", hits, misses)
			}
			_, want := renderYAML(t, Options{Root: root})
			if !bytes.Equal(third, want) || !strings.Contains(string(third), "timeout: 9s") {
				t.Fatal("the render after a change differs from an uncached one")
			}
			if fourth := render(); !bytes.Equal(fourth, want) {
				t.Fatal("the cached render after a change differs from an uncached one")
			}
		})
	}
}

// TestCacheOverlay renders an overlay (base → region → env, with a
// strategic-merge patch of svc-00000) with a cache while base files
// change: the files unchanged since the last render come from the cache,
// and yet each render must equal an uncached one and a changed file be
// checked as strictly as on a cold render.
func TestCacheOverlay(t *testing.T) {
	root := t.TempDir()
	writeOverlayRepo(t, root, 20, overlayShapes["base-region-env"])
	cache := NewCache()
	edit := func(file, old, new string) {
		t.Helper()
		p := filepath.Join(root, "base", file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		gitfixture.WriteFile(t, p, bytes.Replace(b, []byte(old), []byte(new), 1))
	}
	cached := Options{Root: root, Path: "overlays/prod", Cache: cache}
	uncached := Options{Root: root, Path: "overlays/prod"}

	tests := []struct {
		name      string
		file      string
		old, new  string
		wantError string // "" for a render that succeeds
	}{
		{"the first render", "", "", "", ""},
		{"a changed timeout", "svc-00003.yaml", "timeout: 2s", "timeout: 9s", ""},
		{"the patched service changed", "svc-00000.yaml", "attempts: 3", "attempts: 4", ""},
		{"a misspelt field", "svc-00004.yaml", "timeout: 2s", "timeuot: 2s", "svc-00004.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file != "" {
				edit(tt.file, tt.old, tt.new)
			}
			res, err := Render(t.Context(), cached)
			_, coldErr := Render(t.Context(), uncached)
			if tt.wantError != "" {
				if err == nil || coldErr == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("cached render error = %v, want one naming %s", err, tt.wantError)
				}
				if err.Error() != coldErr.Error() {
					t.Errorf("cached render error differs from a cold one:\n%v\n%v", err, coldErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Fallback != "" {
				t.Errorf("Fallback = %q, want the fast path", res.Fallback)
			}
			got, err := res.Objects.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if _, want := renderYAML(t, uncached); !bytes.Equal(got, want) {
				t.Error("a cached render differs from an uncached one")
			}
		})
	}
	// Every render followed a change: none reused a whole build.
	_, misses := cache.Stats()
	if misses != len(tests) {
		t.Errorf("%d misses, want %d (every render follows a change)", misses, len(tests))
	}
}

package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
				if err := os.WriteFile(filepath.Join(root, "kustomization.yaml"), k, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cache := NewCache()
			opts := Options{Root: root, Cache: cache}
			render := func() []byte {
				t.Helper()
				res, err := Render(context.Background(), opts)
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
			if err := os.WriteFile(p, bytes.Replace(b, []byte("timeout: 2s"), []byte("timeout: 9s"), 1), 0o644); err != nil {
				t.Fatal(err)
			}
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

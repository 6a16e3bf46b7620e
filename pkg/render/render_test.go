package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/kustomize"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const exampleRepo = "../../examples/repo"

func renderYAML(t *testing.T, opts Options) (*Result, []byte) {
	t.Helper()
	res, err := Render(t.Context(), opts)
	if err != nil {
		t.Fatalf("Render(%s): %v", opts.Path, err)
	}
	b, err := res.Objects.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		path, golden string
		kustomized   bool
	}{
		{"base", "base.yaml", false},
		{"overlays/staging", "staging.yaml", true},
		{"overlays/prod", "prod.yaml", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, got := renderYAML(t, Options{Root: exampleRepo, Path: tt.path})
			if res.Kustomized != tt.kustomized {
				t.Errorf("Kustomized = %v, want %v", res.Kustomized, tt.kustomized)
			}
			golden := filepath.Join("testdata", "golden", tt.golden)
			if *update {
				gitfixture.WriteFile(t, golden, got)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("render differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestRenderFastPathMatchesKustomize(t *testing.T) {
	fast, slow := buildBothWays(t, Options{Root: exampleRepo, Path: "base"})
	if diff := cmp.Diff(index(slow), index(fast)); diff != "" {
		t.Errorf("fast path differs from kustomize (-kustomize +fast):\n%s", diff)
	}
}

// index maps objects to their content and source, ignoring order and lines.
func index(bs []fastpath.Object) map[string]any {
	m := map[string]any{}
	for _, b := range bs {
		m[fastpath.ObjectName(b.Obj)] = map[string]any{"obj": b.Obj, "source": b.Source}
	}
	return m
}

func TestRenderDeterministic(t *testing.T) {
	_, first := renderYAML(t, Options{Root: exampleRepo, Path: "overlays/prod"})
	for i := 0; i < 3; i++ {
		_, again := renderYAML(t, Options{Root: exampleRepo, Path: "overlays/prod", Workers: i + 1})
		if !bytes.Equal(first, again) {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
}

// fastBuilder is the fast path of r's render, as build makes it without a
// Cache.
func (r *renderer) fastBuilder() *fastpath.Builder {
	return &fastpath.Builder{FS: r.fs, Workers: r.workers}
}

// kustomizeBuilder is the kustomize build of r's render, as build makes it.
func (r *renderer) kustomizeBuilder() *kustomize.Builder {
	return &kustomize.Builder{FS: r.fs, Lines: r.lines, Workers: r.workers}
}

// scan makes the renderer of opts and scans its tree, as build does first.
func scan(t *testing.T, opts Options) (*renderer, string, *fastpath.Node) {
	t.Helper()
	r, dir, err := newRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	top, err := fastpath.Scan(r.fs, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir, top
}

// buildBothWays builds the plain tree of opts with the fast path and with
// kustomize.
func buildBothWays(t *testing.T, opts Options) (fast, slow []fastpath.Object) {
	t.Helper()
	r, dir, top := scan(t, opts)
	if !top.Plain {
		t.Fatalf("%s is not plain", opts.Path)
	}
	fast, err := r.fastBuilder().Build(t.Context(), top)
	if err != nil {
		t.Fatal(err)
	}
	slow, err = r.kustomizeBuilder().Build(t.Context(), dir, top)
	if err != nil {
		t.Fatal(err)
	}
	return fast, slow
}

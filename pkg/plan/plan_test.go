package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/manifest/manifesttest"
)

func vs(name string, weights ...int64) manifest.Object {
	return manifesttest.Istio("VirtualService", name, map[string]any{
		"hosts": []any{name},
		"http":  []any{manifesttest.WeightedRoute(name, weights...)},
	})
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name        string
		base, head  manifest.Set
		wantActions []string
		wantSummary Summary
	}{{
		name:        "identical sets have no changes",
		base:        manifest.Set{vs("cart", 100)},
		head:        manifest.Set{vs("cart", 100)},
		wantSummary: Summary{Unchanged: 1},
	}, {
		name:        "a new weight is a change, a new object an addition, a missing one a removal",
		base:        manifest.Set{vs("cart", 90, 10), vs("legacy", 100)},
		head:        manifest.Set{vs("cart", 50, 50), vs("search", 100)},
		wantActions: []string{"changed VirtualService/shop/cart", "added VirtualService/shop/search", "removed VirtualService/shop/legacy"},
		wantSummary: Summary{Added: 1, Changed: 1, Removed: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, sum, err := Compare(tt.base, tt.head)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, string(c.Action)+" "+c.ID)
				if c.Diff == "" {
					t.Errorf("%s has an empty diff", c.ID)
				}
			}
			if diff := cmp.Diff(tt.wantActions, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSummary, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the diff shows the old and new weight", func(t *testing.T) {
		changes, _, _ := Compare(manifest.Set{vs("cart", 90, 10)}, manifest.Set{vs("cart", 50, 50)})
		for _, want := range []string{"--- base/VirtualService/shop/cart", "-      weight: 90", "+      weight: 50"} {
			if !strings.Contains(changes[0].Diff, want) {
				t.Errorf("diff lacks %q:\n%s", want, changes[0].Diff)
			}
		}
	})
}

func TestTrafficDiagram(t *testing.T) {
	suspended := vs("reviews", 100, 0)
	jason := vs("reviews", 100)
	http, _, _ := unstructured.NestedSlice(jason.Object, "spec", "http")
	rule := http[0].(map[string]any)
	rule["match"] = []any{map[string]any{
		"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}},
		"uri":     map[string]any{"prefix": "/api"},
	}}
	_ = unstructured.SetNestedSlice(jason.Object, http, "spec", "http")
	aborted := vs("reviews", 100)
	http, _, _ = unstructured.NestedSlice(aborted.Object, "spec", "http")
	http[0].(map[string]any)["fault"] = map[string]any{"abort": map[string]any{"httpStatus": int64(503), "percentage": map[string]any{"value": int64(100)}}}
	_ = unstructured.SetNestedSlice(aborted.Object, http, "spec", "http")

	tests := []struct {
		name       string
		base, head *unstructured.Unstructured
		want       []string
	}{{
		name: "weights are edge labels and a suspended version is dashed",
		base: vs("reviews", 80, 20).Unstructured, head: suspended.Unstructured,
		want: []string{"flowchart LR", `subgraph before["before"]`, "-->|80%|", "-->|20%|", "-.->|0% suspended|", `["reviews v2"]`},
	}, {
		name: "conditions of one match are joined with AND",
		base: nil, head: jason.Unstructured,
		want: []string{`["(no VirtualService)"]`, `{"uri starts /api AND header end-user = jason"}`},
	}, {
		name: "a full abort replaces the destinations",
		base: vs("reviews", 100).Unstructured, head: aborted.Unstructured,
		want: []string{`["abort 503"]`, `{"all requests"}`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrafficDiagram(tt.base, tt.head)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("diagram lacks %q:\n%s", w, got)
				}
			}
		})
	}
	t.Run("objects that are not VirtualServices give no diagram", func(t *testing.T) {
		dr := &unstructured.Unstructured{Object: map[string]any{"kind": "DestinationRule"}}
		if got := TrafficDiagram(dr, dr); got != "" {
			t.Errorf("want no diagram, got:\n%s", got)
		}
	})
}

package gitfixture

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/render"
)

// TestSplitIntentRenders renders a repository made of SplitIntents and a
// Kustomization, as the controller and fault tests do, and checks the
// weights and the fields appended to a spec reach the Istio objects.
func TestSplitIntentRenders(t *testing.T) {
	tests := []struct {
		name   string
		v1, v2 int
		extra  string
		// tls is the DestinationRule's trafficPolicy.tls.mode; empty for none.
		tls string
	}{
		{name: "an 80/20 split", v1: 80, v2: 20},
		{name: "everything to v1, with mutual TLS appended to the spec", v1: 100, v2: 0, extra: "  trafficPolicy:\n    tls: ISTIO_MUTUAL\n", tls: "ISTIO_MUTUAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(t)
			r.Write("services/reviews.yaml", SplitIntent("bookinfo", "reviews", tc.v1, tc.v2)+tc.extra)
			r.Write("kustomization.yaml", Kustomization("services/reviews.yaml"))
			r.Commit("intents")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := render.Render(ctx, render.Options{Root: r.Dir, Path: "."})
			if err != nil {
				t.Fatal(err)
			}
			var weights []int64
			var tls string
			for _, o := range res.Objects {
				u := &unstructured.Unstructured{Object: o.Object}
				switch u.GetKind() {
				case "VirtualService":
					http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
					route, _, _ := unstructured.NestedSlice(http[len(http)-1].(map[string]any), "route")
					for _, d := range route {
						w, _, _ := unstructured.NestedInt64(d.(map[string]any), "weight")
						weights = append(weights, w)
					}
				case "DestinationRule":
					tls, _, _ = unstructured.NestedString(u.Object, "spec", "trafficPolicy", "tls", "mode")
				}
			}
			if diff := cmp.Diff([]int64{int64(tc.v1), int64(tc.v2)}, weights); tc.v2 > 0 && diff != "" {
				t.Errorf("VirtualService weights (-want +got):\n%s", diff)
			}
			if len(weights) == 0 {
				t.Error("the render holds no VirtualService route")
			}
			if tls != tc.tls {
				t.Errorf("DestinationRule tls mode = %q, want %q", tls, tc.tls)
			}
		})
	}
}

func TestKustomization(t *testing.T) {
	if diff := cmp.Diff("resources:\n- b.yaml\n- a/c.yaml\n", Kustomization("b.yaml", "a/c.yaml")); diff != "" {
		t.Errorf("Kustomization (-want +got):\n%s", diff)
	}
}

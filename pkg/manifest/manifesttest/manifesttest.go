// Package manifesttest builds the Istio objects that tests of plans and
// their output compare, so that each test states only its spec.
package manifesttest

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// Istio is a networking.istio.io/v1 object of kind named name in the
// namespace shop, from base/<name>.yaml, with the spec.
func Istio(kind, name string, spec map[string]any) manifest.Object {
	return manifest.Object{
		Source: "base/" + name + ".yaml",
		Unstructured: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.istio.io/v1",
			"kind":       kind,
			"metadata":   map[string]any{"name": name, "namespace": "shop"},
			"spec":       spec,
		}},
	}
}

// WeightedRoute is an HTTP route splitting traffic to host over the
// subsets v1, v2, … with the weights.
func WeightedRoute(host string, weights ...int64) map[string]any {
	var route []any
	for i, w := range weights {
		route = append(route, map[string]any{
			"destination": map[string]any{"host": host, "subset": fmt.Sprintf("v%d", i+1)},
			"weight":      w,
		})
	}
	return map[string]any{"route": route}
}

package testenv

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Get reads the object of kind gvk named ns/name.
func (e *Env) Get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

// MustGet is Get that fails the test when the object cannot be read.
func (e *Env) MustGet(t testing.TB, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.Get(t.Context(), gvk, ns, name)
	if err != nil {
		t.Fatalf("%s %s/%s: %v", gvk.Kind, ns, name, err)
	}
	return u
}

// CheckAbsent fails t unless the object of kind gvk named ns/name does not
// exist.
func (e *Env) CheckAbsent(t testing.TB, gvk schema.GroupVersionKind, ns, name string) {
	t.Helper()
	if _, err := e.Get(t.Context(), gvk, ns, name); !apierrors.IsNotFound(err) {
		t.Errorf("%s %s/%s: %v, want none (NotFound)", gvk.Kind, ns, name, err)
	}
}

// RouteWeights returns the destination weights of each http route of a
// VirtualService, in order.
func RouteWeights(vs *unstructured.Unstructured) [][]int64 {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	out := make([][]int64, 0, len(http))
	for _, h := range http {
		route, _, _ := unstructured.NestedSlice(h.(map[string]any), "route")
		var w []int64
		for _, r := range route {
			v, _, _ := unstructured.NestedInt64(r.(map[string]any), "weight")
			w = append(w, v)
		}
		out = append(out, w)
	}
	return out
}

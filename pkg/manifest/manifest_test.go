package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(apiVersion, kind, ns, name string) Object {
	return Object{Unstructured: &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns},
	}}}
}

func TestSortPutsNamespacesFirstThenKindNamespaceName(t *testing.T) {
	set := Set{
		obj("networking.istio.io/v1", "VirtualService", "b", "x"),
		obj("networking.istio.io/v1", "DestinationRule", "a", "y"),
		obj("v1", "Namespace", "", "b"),
		obj("networking.istio.io/v1", "VirtualService", "a", "z"),
		obj("v1", "Namespace", "", "a"),
	}
	set.Sort()
	var got []string
	for _, o := range set {
		got = append(got, o.ID())
	}
	want := []string{
		"Namespace/a", "Namespace/b",
		"DestinationRule/a/y",
		"VirtualService/a/z", "VirtualService/b/x",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestYAMLIsDeterministic(t *testing.T) {
	a := obj("v1", "Namespace", "", "a")
	a.SetLabels(map[string]string{"z": "1", "a": "2", "m": "3"})
	first, err := Set{a, obj("v1", "Namespace", "", "b")}.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Set{a, obj("v1", "Namespace", "", "b")}.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatalf("YAML differs between runs:\n%s\n---\n%s", first, again)
		}
	}
	want := "apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    a: \"2\"\n    m: \"3\"\n    z: \"1\"\n  name: a\n  namespace: \"\"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n  namespace: \"\"\n"
	if diff := cmp.Diff(want, string(first)); diff != "" {
		t.Errorf("YAML (-want +got):\n%s", diff)
	}
}

func TestMetadataCopy(t *testing.T) {
	o := obj("networking.istio.io/v1", "VirtualService", "shop", "reviews")
	o.SetLabels(map[string]string{"app": "reviews"})
	spec := map[string]any{"hosts": []any{"reviews"}}
	o.Object["spec"] = spec

	c := MetadataCopy(o.Unstructured)
	c.SetLabels(map[string]string{"app": "reviews", "extra": "yes"})
	c.SetAnnotations(map[string]string{"a": "b"})
	c.SetNamespace("other")

	if diff := cmp.Diff(map[string]string{"app": "reviews"}, o.GetLabels()); diff != "" {
		t.Errorf("the original's labels changed (-want +got):\n%s", diff)
	}
	if o.GetAnnotations() != nil || o.GetNamespace() != "shop" {
		t.Errorf("the original's metadata changed: %v", o.Object["metadata"])
	}
	if got := c.GetLabels()["extra"]; got != "yes" {
		t.Errorf("the copy's label = %q", got)
	}
	if diff := cmp.Diff(o.Object["spec"], c.Object["spec"]); diff != "" {
		t.Errorf("spec differs (-original +copy):\n%s", diff)
	}
}

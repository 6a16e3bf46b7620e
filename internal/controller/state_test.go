package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

func TestAppliedSetRoundTrip(t *testing.T) {
	vs := object("VirtualService", "shop", "reviews", "services/reviews.yaml", "ServiceIntent/shop/reviews")
	vs.Object["spec"] = map[string]any{"http": []any{map[string]any{"route": []any{
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": int64(90)},
		map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": int64(10)},
	}}}}
	ns := object("Namespace", "", "shop", "namespaces/shop.yaml", "NamespaceIntent/shop")
	set := manifest.Set{ns, vs}

	a, err := newAppliedSet("abc123", 2, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Namespace/shop", "VirtualService/shop/reviews"}, a.ids()); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	all, err := a.decode(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Objects, sources and intents come back as they went in, types
	// included (int64 weights stay int64).
	if diff := cmp.Diff(set, all); diff != "" {
		t.Errorf("decoded set (-want +got):\n%s", diff)
	}
	// The decoded set is the caller's: changing it leaves the stored one.
	all[1].Object["spec"] = nil
	again, err := a.decode(func(id string) bool { return id == "VirtualService/shop/reviews" })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(manifest.Set{vs}, again); diff != "" {
		t.Errorf("decoded subset (-want +got):\n%s", diff)
	}
}

func TestAppliedSetLazy(t *testing.T) {
	vs := object("VirtualService", "shop", "reviews", "services/reviews.yaml", "ServiceIntent/shop/reviews")
	vs.Object["spec"] = map[string]any{"hosts": []any{"reviews"}}
	ns := object("Namespace", "", "shop", "namespaces/shop.yaml", "NamespaceIntent/shop")
	a, err := newAppliedSet("abc123", 1, manifest.Set{ns, vs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := a.lazy(nil)
	if err != nil {
		t.Fatal(err)
	}
	if set[0].Lazy() || !cmp.Equal(set[0].Object, ns.Object) {
		t.Errorf("the Namespace is lazy or differs: %+v", set[0])
	}
	got := set[1]
	want, err := apply.Digest(vs)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Lazy() || got.Digest != want || got.ID() != vs.ID() || got.Source != vs.Source || got.Object["spec"] != nil {
		t.Errorf("lazy VirtualService = %+v, want a stub of %s with digest %s", got, vs.ID(), want)
	}
	full, err := got.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vs.Object, full.Object); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
}

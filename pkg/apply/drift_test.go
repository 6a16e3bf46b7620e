package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/apply"
)

func TestDrift(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	labelNamespace(t, ns, map[string]string{"team": "reviews"}, nil)
	set, m, opts := bookinfo(t, ns)
	mustApply(t, m, set, opts)
	dopts := apply.DriftOptions{Inventory: ns}
	vs := find(t, set, "VirtualService")

	t.Run("a cluster matching Git is in sync", func(t *testing.T) {
		r, err := m.Drift(t.Context(), set, dopts)
		if err != nil {
			t.Fatal(err)
		}
		if !r.InSync() {
			t.Errorf("report = %+v, want in sync", r)
		}
	})

	t.Run("a field another manager changed is reported with path, values and manager", func(t *testing.T) {
		editWeights(t, vs, 0, 100)
		r, err := m.Drift(t.Context(), set, dopts)
		if err != nil {
			t.Fatal(err)
		}
		want := []apply.FieldDiff{
			{ID: vs.ID(), Source: "services/reviews.yaml", Path: ".spec.http[0].route[0].weight", Pointer: "/spec/http/0/route/0/weight", Want: int64(80), Have: int64(0), Manager: "kubectl-edit"},
			{ID: vs.ID(), Source: "services/reviews.yaml", Path: ".spec.http[0].route[1].weight", Pointer: "/spec/http/0/route/1/weight", Want: int64(20), Have: int64(100), Manager: "kubectl-edit"},
		}
		if diff := cmp.Diff(want, r.Drifted); diff != "" {
			t.Errorf("drifted (-want +got):\n%s", diff)
		}
		if r.InSync() {
			t.Error("InSync() = true with drifted fields")
		}
	})

	t.Run("ignore rules leave fields out", func(t *testing.T) {
		opts := dopts
		opts.Ignore = []apply.IgnoreRule{{Kind: "VirtualService", Paths: []string{"/spec/http/*/route"}}}
		r, err := m.Drift(t.Context(), set, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]apply.FieldDiff{}, r.Drifted); diff != "" {
			t.Errorf("drifted (-want +got):\n%s", diff)
		}
		opts.Ignore[0].Kind = "DestinationRule"
		if r, err = m.Drift(t.Context(), set, opts); err != nil {
			t.Fatal(err)
		}
		if len(r.Drifted) != 2 {
			t.Errorf("drifted = %v, want the 2 weights when the rule is for another kind", r.Drifted)
		}
	})

	t.Run("entries added to a list live are reported", func(t *testing.T) {
		u := live(t, vs)
		http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
		route := http[0].(map[string]any)
		route["timeout"] = "3s"
		http = append(http, map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "ratings"}}}})
		if err := unstructured.SetNestedSlice(u.Object, http, "spec", "http"); err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Update(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		r, err := m.Drift(t.Context(), set, dopts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range r.Drifted {
			got = append(got, d.Path)
		}
		want := []string{".spec.http[0].route[0].weight", ".spec.http[0].route[1].weight", ".spec.http[0].timeout", ".spec.http[1]"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("drifted paths (-want +got):\n%s", diff)
		}
	})

	t.Run("a namespace label changed by someone is reported and foreign labels are not", func(t *testing.T) {
		labelNamespace(t, ns, map[string]string{"istio-injection": "disabled"}, nil)
		r, err := m.Drift(t.Context(), without(set, "VirtualService"), apply.DriftOptions{MeshKinds: []schema.GroupVersionKind{}})
		if err != nil {
			t.Fatal(err)
		}
		want := []apply.FieldDiff{{
			ID: "Namespace/" + ns, Source: "namespaces/bookinfo.yaml",
			Path: `.metadata.labels.istio-injection`, Pointer: "/metadata/labels/istio-injection",
			Want: "enabled", Have: "disabled", Manager: "kubectl-label",
		}}
		if diff := cmp.Diff(want, r.Drifted); diff != "" {
			t.Errorf("drifted (-want +got):\n%s", diff)
		}
	})

	t.Run("a missing object is reported with its source", func(t *testing.T) {
		extra := load(t, "bookinfo.yaml", ns)
		dr := find(t, extra, "DestinationRule")
		dr.SetName("ratings")
		r, err := m.Drift(t.Context(), extra, dopts)
		if err != nil {
			t.Fatal(err)
		}
		want := []apply.ObjectInfo{destinationRuleInfo(ns, "ratings")}
		if diff := cmp.Diff(want, r.Missing); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
		// The DestinationRule reviews is live but no longer in this set: stale.
		wantStale := []apply.ObjectInfo{destinationRuleInfo(ns, "reviews")}
		if diff := cmp.Diff(wantStale, r.Stale); diff != "" {
			t.Errorf("stale (-want +got):\n%s", diff)
		}
	})

	t.Run("a VirtualService made by a Kiali wizard is reported as unmanaged", func(t *testing.T) {
		kiali := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.istio.io/v1",
			"kind":       "VirtualService",
			"metadata": map[string]any{
				"name": "details", "namespace": ns,
				"labels": map[string]any{"kiali_wizard": "request_routing"},
			},
			"spec": map[string]any{
				"hosts": []any{"details"},
				"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "details"}}}}},
			},
		}}
		if err := env.Client.Create(t.Context(), kiali, client.FieldOwner("kiali")); err != nil {
			t.Fatal(err)
		}
		r, err := m.Drift(t.Context(), set, dopts)
		if err != nil {
			t.Fatal(err)
		}
		want := []apply.Unmanaged{{
			ObjectInfo: apply.ObjectInfo{
				ID:     "VirtualService/" + ns + "/details",
				Object: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: ns, Name: "details"},
			},
			KialiWizard: "request_routing",
			Managers:    []string{"kiali"},
			Reason:      "not in Git: no app.kubernetes.io/managed-by=meshintent label",
		}}
		if diff := cmp.Diff(want, r.Unmanaged); diff != "" {
			t.Errorf("unmanaged (-want +got):\n%s", diff)
		}
	})
}

// destinationRuleInfo is the ObjectInfo of the DestinationRule name in ns
// from services/reviews.yaml.
func destinationRuleInfo(ns, name string) apply.ObjectInfo {
	return apply.ObjectInfo{
		ID:     "DestinationRule/" + ns + "/" + name,
		Object: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule", Namespace: ns, Name: name},
		Source: "services/reviews.yaml",
	}
}

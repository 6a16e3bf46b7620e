package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
)

func TestInventory(t *testing.T) {
	t.Parallel()

	t.Run("an apply records every object, our namespace label keys and the revision", func(t *testing.T) {
		ns := env.Namespace(t)
		set, m, opts := bookinfo(t, ns)
		opts.Revision = "4f1c2e9"
		res := mustApply(t, m, set, opts)
		want := &apply.Inventory{
			Name:      ns,
			Namespace: apply.DefaultInventoryNamespace,
			Revision:  "4f1c2e9",
			Entries: []apply.Entry{
				{
					ObjectRef:   apply.ObjectRef{Version: "v1", Kind: "Namespace", Name: ns},
					Source:      "namespaces/bookinfo.yaml",
					Labels:      []string{"app.kubernetes.io/managed-by", "istio-injection"},
					Annotations: []string{apply.DigestAnnotation, "meshintent.io/intent", "meshintent.io/source"},
				},
				{ObjectRef: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule", Namespace: ns, Name: "reviews"}, Source: "services/reviews.yaml"},
				{ObjectRef: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: ns, Name: "reviews"}, Source: "services/reviews.yaml"},
				{ObjectRef: apply.ObjectRef{Group: "telemetry.istio.io", Version: "v1", Kind: "Telemetry", Namespace: ns, Name: "access-logs"}, Source: "namespaces/bookinfo.yaml"},
			},
		}
		if diff := cmp.Diff(want, res.Inventory); diff != "" {
			t.Errorf("returned inventory (-want +got):\n%s", diff)
		}
		got, err := m.ReadInventory(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored inventory (-want +got):\n%s", diff)
		}

		cm := &unstructured.Unstructured{}
		cm.SetAPIVersion("v1")
		cm.SetKind("ConfigMap")
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: apply.DefaultInventoryNamespace, Name: ns}, cm); err != nil {
			t.Fatal(err)
		}
		wantLabels := map[string]string{"app.kubernetes.io/managed-by": "meshintent", apply.InventoryLabel: "true"}
		if diff := cmp.Diff(wantLabels, cm.GetLabels()); diff != "" {
			t.Errorf("ConfigMap labels (-want +got):\n%s", diff)
		}
	})

	t.Run("a missing inventory reads as empty", func(t *testing.T) {
		m := apply.NewManager(env.Client, apply.Options{})
		got, err := m.ReadInventory(t.Context(), testenv.NamespaceName(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Entries) != 0 || got.Revision != "" {
			t.Errorf("inventory = %+v, want empty", got)
		}
	})

	t.Run("the inventory namespace is created when missing and an equal inventory is not rewritten", func(t *testing.T) {
		invNS := testenv.NamespaceName(t)
		m := apply.NewManager(env.Client, apply.Options{InventoryNamespace: invNS})
		inv := apply.NewInventory("sync", "r1", load(t, "bookinfo.yaml", "bookinfo"))
		if got, err := m.WriteInventory(t.Context(), inv); err != nil || got != apply.Created {
			t.Fatalf("first write = %q, %v; want created", got, err)
		}
		if got, err := m.WriteInventory(t.Context(), inv); err != nil || got != apply.Unchanged {
			t.Fatalf("second write = %q, %v; want unchanged", got, err)
		}
		inv.Revision = "r2"
		if got, err := m.WriteInventory(t.Context(), inv); err != nil || got != apply.Configured {
			t.Fatalf("third write = %q, %v; want configured", got, err)
		}
		read, err := m.ReadInventory(t.Context(), "sync")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, read); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
	})

	t.Run("stale entries are those no longer in the set, whatever their version", func(t *testing.T) {
		set := load(t, "bookinfo.yaml", "bookinfo")
		inv := apply.NewInventory("sync", "r1", set)
		for i := range inv.Entries {
			inv.Entries[i].Version = "v1beta1"
		}
		var got []string
		for _, e := range inv.Stale(without(set, "Namespace", "Telemetry")) {
			got = append(got, e.ID())
		}
		if diff := cmp.Diff([]string{"Namespace/bookinfo", "Telemetry/bookinfo/access-logs"}, got); diff != "" {
			t.Errorf("stale (-want +got):\n%s", diff)
		}
	})
}

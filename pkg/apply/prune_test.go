package apply_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

func TestPrune(t *testing.T) {
	t.Parallel()

	t.Run("an object removed from Git is deleted and its namespace only loses our labels", func(t *testing.T) {
		ns := env.Namespace(t)
		labelNamespace(t, ns, map[string]string{"team": "reviews"}, map[string]string{"owner": "alice@example.com"})
		set, m, opts := bookinfo(t, ns)
		opts.Prune = true
		mustApply(t, m, set, opts)

		res := mustApply(t, m, without(set, "Namespace", "VirtualService"), opts)
		checkBookinfoActions(t, res.ChangeSet, ns, apply.LabelsRemoved, apply.Deleted, apply.Unchanged, apply.Unchanged)
		if u := live(t, find(t, set, "VirtualService")); u != nil {
			t.Errorf("%s still exists", u.GetName())
		}
		nsObj := live(t, find(t, set, "Namespace"))
		if nsObj == nil {
			t.Fatalf("namespace %s was deleted", ns)
		}
		if diff := cmp.Diff(map[string]string{"kubernetes.io/metadata.name": ns, "team": "reviews"}, nsObj.GetLabels()); diff != "" {
			t.Errorf("namespace labels (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"owner": "alice@example.com"}, nsObj.GetAnnotations()); diff != "" {
			t.Errorf("namespace annotations (-want +got):\n%s", diff)
		}
		var kinds []string
		for _, e := range res.Inventory.Entries {
			kinds = append(kinds, e.Kind)
		}
		if diff := cmp.Diff([]string{"DestinationRule", "Telemetry"}, kinds); diff != "" {
			t.Errorf("inventory kinds (-want +got):\n%s", diff)
		}
	})

	t.Run("without prune an object removed from Git stays and stays recorded", func(t *testing.T) {
		ns := env.Namespace(t)
		set, m, opts := bookinfo(t, ns)
		mustApply(t, m, set, opts)
		res := mustApply(t, m, without(set, "VirtualService"), opts)
		vs := find(t, set, "VirtualService")
		if live(t, vs) == nil {
			t.Errorf("%s was deleted", vs.ID())
		}
		if !res.Inventory.Has(apply.RefOf(vs.Unstructured)) {
			t.Errorf("inventory lost %s", vs.ID())
		}

		// A later apply with prune still removes it.
		opts.Prune = true
		res = mustApply(t, m, without(set, "VirtualService"), opts)
		if got := actions(res.ChangeSet)[vs.ID()]; got != apply.Deleted {
			t.Errorf("%s action = %q, want deleted", vs.ID(), got)
		}
	})

	t.Run("an empty set prunes nothing unless allowed", func(t *testing.T) {
		ns := env.Namespace(t)
		set, m, opts := bookinfo(t, ns)
		opts.Prune = true
		mustApply(t, m, set, opts)
		before := resourceVersions(t, set, ns)

		_, err := m.Apply(t.Context(), manifest.Set{}, opts)
		if !errors.Is(err, apply.ErrEmptySet) {
			t.Fatalf("error is %v, want ErrEmptySet", err)
		}
		if diff := cmp.Diff(before, resourceVersions(t, set, ns)); diff != "" {
			t.Errorf("resourceVersions (-want +got):\n%s", diff)
		}

		opts.AllowEmpty = true
		res, err := m.Apply(t.Context(), manifest.Set{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.ChangeSet.Summary(); got != "3 deleted, 1 labels-removed" {
			t.Errorf("change set is %q, want 3 deleted, 1 labels-removed", got)
		}
		if len(res.Inventory.Entries) != 0 {
			t.Errorf("inventory entries = %v, want none", res.Inventory.Entries)
		}
	})

	t.Run("an object someone took over is skipped with the reason", func(t *testing.T) {
		ns := env.Namespace(t)
		set, m, opts := bookinfo(t, ns)
		opts.Prune = true
		mustApply(t, m, set, opts)
		dr := find(t, set, "DestinationRule")
		u := live(t, dr)
		unstructured.RemoveNestedField(u.Object, "metadata", "labels", manifest.ManagedByLabel)
		if err := env.Client.Update(t.Context(), u); err != nil {
			t.Fatal(err)
		}

		res := mustApply(t, m, without(set, "DestinationRule"), opts)
		var entry apply.ChangeSetEntry
		for _, e := range res.ChangeSet.Entries {
			if e.ID == dr.ID() {
				entry = e
			}
		}
		if entry.Action != apply.Skipped || !strings.Contains(entry.Reason, "not labelled app.kubernetes.io/managed-by=meshintent") {
			t.Errorf("entry is %+v, want skipped because the label is gone", entry)
		}
		if live(t, dr) == nil {
			t.Errorf("%s was deleted", dr.ID())
		}
	})

	t.Run("a namespace label another manager also set is kept", func(t *testing.T) {
		ns := env.Namespace(t)
		labelNamespace(t, ns, map[string]string{"istio-injection": "enabled"}, nil)
		set, m, opts := bookinfo(t, ns)
		opts.Prune = true
		mustApply(t, m, set, opts)
		res := mustApply(t, m, without(set, "Namespace"), opts)
		want := apply.ChangeSetEntry{
			ID:     "Namespace/" + ns,
			Object: apply.ObjectRef{Version: "v1", Kind: "Namespace", Name: ns},
			Source: "namespaces/bookinfo.yaml",
			Action: apply.LabelsRemoved,
			Reason: "kept labels other managers also set: istio-injection",
		}
		if diff := cmp.Diff(want, res.ChangeSet.Entries[len(res.ChangeSet.Entries)-1]); diff != "" {
			t.Errorf("namespace entry (-want +got):\n%s", diff)
		}
		if got := live(t, find(t, set, "Namespace")).GetLabels(); got["istio-injection"] != "enabled" || got[manifest.ManagedByLabel] != "" {
			t.Errorf("namespace labels = %v, want istio-injection kept and managed-by removed", got)
		}
	})
}

package ui

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

func TestParseDrift(t *testing.T) {
	tests := []struct {
		entry  string
		wantID string
		want   fieldDrift
		wantOK bool
	}{{
		entry:  "VirtualService/a/r .spec.http[0].route[0].weight: want 80, have 50 (kubectl-edit)",
		wantID: "VirtualService/a/r", want: fieldDrift{Path: ".spec.http[0].route[0].weight", Want: "80", Have: "50", Manager: "kubectl-edit"}, wantOK: true,
	}, {
		entry:  "VirtualService/a/r .spec.hosts: want [\"r\"], have [\"r\",\"x\"]",
		wantID: "VirtualService/a/r", want: fieldDrift{Path: ".spec.hosts", Want: `["r"]`, Have: `["r","x"]`}, wantOK: true,
	}, {
		entry:  `DestinationRule/a/r .spec.trafficPolicy: want {"a":", have "}, have null (Kiali)`,
		wantID: "DestinationRule/a/r", want: fieldDrift{Path: ".spec.trafficPolicy", Want: `{"a":", have "}`, Have: "null", Manager: "Kiali"}, wantOK: true,
	}, {
		entry:  `VirtualService/a/r .metadata.labels.x: want "a (b)", have "c (d e)"`,
		wantID: "VirtualService/a/r", want: fieldDrift{Path: ".metadata.labels.x", Want: `"a (b)"`, Have: `"c (d e)"`}, wantOK: true,
	}, {
		entry: "VirtualService/a/gone: missing (deleted from the cluster)",
	}}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			id, f, ok := parseDrift(tt.entry)
			if ok != tt.wantOK || id != tt.wantID || f != tt.want {
				t.Errorf("parseDrift = %q, %+v, %v; want %q, %+v, %v", id, f, ok, tt.wantID, tt.want, tt.wantOK)
			}
		})
	}
}

func TestObjectsOf(t *testing.T) {
	o := &v1alpha1.IntentSync{Status: v1alpha1.IntentSyncStatus{
		Inventory: &v1alpha1.InventoryStatus{Entries: []string{"VirtualService/a/r", "VirtualService/a/gone", "DestinationRule/a/r"}},
		Drift: &v1alpha1.DriftStatus{Entries: []string{
			"VirtualService/a/gone: missing (deleted from the cluster)",
			"VirtualService/a/r .spec.http[0].route[0].weight: want 80, have 50 (kubectl-edit)",
			"VirtualService/a/r .spec.http[0].route[1].weight: want 20, have 50 (kubectl-edit)",
			"VirtualService/a/old .spec.hosts: want [\"old\"], have []",
		}},
		// The last successful apply pruned two objects; an older one, and
		// a failed attempt since, do not count.
		History: []v1alpha1.Attempt{
			{Result: v1alpha1.ReasonPolicyDenied},
			{Result: v1alpha1.ReasonSynced, Pruned: []string{"DestinationRule/a/left", "VirtualService/a/left"}},
			{Result: v1alpha1.ReasonSynced, Pruned: []string{"VirtualService/a/earlier"}},
		},
	}}
	want := []object{
		{ID: "VirtualService/a/r", State: stateDrifted, Class: "warn", Fields: []fieldDrift{
			{Path: ".spec.http[0].route[0].weight", Want: "80", Have: "50", Manager: "kubectl-edit"},
			{Path: ".spec.http[0].route[1].weight", Want: "20", Have: "50", Manager: "kubectl-edit"}}},
		{ID: "VirtualService/a/gone", State: stateMissing, Class: "failed", Notes: []string{"missing (deleted from the cluster)"}},
		{ID: "DestinationRule/a/r", State: stateInSync, Class: "ready"},
		{ID: "VirtualService/a/old", State: stateOutside, Class: "unknown", Fields: []fieldDrift{{Path: ".spec.hosts", Want: `["old"]`, Have: "[]"}}},
		{ID: "DestinationRule/a/left", State: statePruned, Class: "suspended", Notes: []string{"deleted by the last apply: no longer in Git"}},
		{ID: "VirtualService/a/left", State: statePruned, Class: "suspended", Notes: []string{"deleted by the last apply: no longer in Git"}},
	}
	if diff := cmp.Diff(want, objectsOf(o)); diff != "" {
		t.Errorf("objectsOf (-want +got):\n%s", diff)
	}
}

func TestPrunedCount(t *testing.T) {
	tests := []struct {
		history []v1alpha1.Attempt
		want    int
	}{
		{nil, 0},
		{[]v1alpha1.Attempt{{Result: v1alpha1.ReasonSynced, Message: "1 created, 3 deleted"}}, 3},
		{[]v1alpha1.Attempt{{Result: v1alpha1.ReasonPolicyDenied, Message: "9 deleted"}, {Result: v1alpha1.ReasonSynced, Message: "2 deleted"}}, 2},
		{[]v1alpha1.Attempt{{Result: v1alpha1.ReasonSynced, Message: "4 unchanged"}, {Result: v1alpha1.ReasonSynced, Message: "2 deleted"}}, 0},
	}
	for _, tt := range tests {
		if got := prunedCount(tt.history); got != tt.want {
			t.Errorf("prunedCount(%+v) = %d, want %d", tt.history, got, tt.want)
		}
	}
}

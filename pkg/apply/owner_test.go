package apply

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestOwner checks which manager a drifted field is put down to, from
// managedFields as the API server writes them: atomic lists owned whole,
// associative lists by key (k:), sets by value (v:), atomic elements by
// index (i:), and meshintent's own manager only when nobody else owns it.
func TestOwner(t *testing.T) {
	live := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"istio.io/rev": "canary", "team": "a"}},
		"spec": map[string]any{
			"hosts": []any{"reviews", "reviews.shop"},
			"http": []any{map[string]any{"route": []any{
				map[string]any{"weight": int64(50)},
				map[string]any{"weight": int64(50)},
			}}},
			"ports": []any{
				map[string]any{"port": int64(80), "protocol": "TCP", "name": "http"},
				map[string]any{"port": int64(443), "protocol": "TCP", "name": "https"},
			},
			"exportTo": []any{".", "*"},
		},
	}
	path := func(segs ...any) fieldPath {
		var p fieldPath
		for _, s := range segs {
			switch s := s.(type) {
			case string:
				p = append(p, segment{key: s, index: -1})
			case int:
				p = append(p, segment{index: s})
			}
		}
		return p
	}
	entry := func(manager, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, FieldsV1: metav1.NewFieldsV1(fields)}
	}
	mine := entry(DefaultFieldManager, `{"f:metadata":{"f:labels":{".":{},"f:team":{}}},"f:spec":{".":{},"f:hosts":{},"f:http":{}}}`)

	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		path    fieldPath
		want    string
	}{
		{
			name:    "a field inside an atomic list belongs to whoever set the list",
			entries: []metav1.ManagedFieldsEntry{mine, entry("kubectl-edit", `{"f:spec":{"f:http":{}}}`)},
			path:    path("spec", "http", 0, "route", 1, "weight"),
			want:    "kubectl-edit",
		},
		{
			name:    "meshintent is named only when nobody else owns the field",
			entries: []metav1.ManagedFieldsEntry{mine, entry("kubectl-label", `{"f:metadata":{"f:labels":{"f:istio.io/rev":{}}}}`)},
			path:    path("spec", "http", 0, "route", 0, "weight"),
			want:    DefaultFieldManager,
		},
		{
			name:    "a map key is owned by the manager that set it",
			entries: []metav1.ManagedFieldsEntry{mine, entry("kubectl-label", `{"f:metadata":{"f:labels":{"f:istio.io/rev":{}}}}`)},
			path:    path("metadata", "labels", "istio.io/rev"),
			want:    "kubectl-label",
		},
		{
			name:    "a field nobody owns has no manager",
			entries: []metav1.ManagedFieldsEntry{entry("kubectl-label", `{"f:metadata":{"f:labels":{"f:istio.io/rev":{}}}}`)},
			path:    path("spec", "hosts", 1),
			want:    "",
		},
		{
			name: "an associative list element is matched by its keys",
			entries: []metav1.ManagedFieldsEntry{
				entry("ops", `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{}}}}}`),
				entry("helm", `{"f:spec":{"f:ports":{"k:{\"port\":443,\"protocol\":\"TCP\"}":{".":{},"f:name":{}}}}}`),
			},
			path: path("spec", "ports", 1, "name"),
			want: "helm",
		},
		{
			name: "a set element is matched by its value",
			entries: []metav1.ManagedFieldsEntry{
				entry("ops", `{"f:spec":{"f:exportTo":{"v:\".\"":{}}}}`),
				entry("helm", `{"f:spec":{"f:exportTo":{"v:\"*\"":{}}}}`),
			},
			path: path("spec", "exportTo", 1),
			want: "helm",
		},
		{
			name: "an atomic element is matched by its index",
			entries: []metav1.ManagedFieldsEntry{
				entry("ops", `{"f:spec":{"f:hosts":{"i:0":{}}}}`),
				entry("helm", `{"f:spec":{"f:hosts":{"i:1":{}}}}`),
			},
			path: path("spec", "hosts", 1),
			want: "helm",
		},
		{
			name:    "a field below a value owned only in part is not owned",
			entries: []metav1.ManagedFieldsEntry{entry("ops", `{"f:metadata":{"f:labels":{"f:team":{}}}}`)},
			path:    path("metadata", "labels", "istio.io/rev"),
			want:    "",
		},
		{
			name:    "an entry whose fields are not a field set is passed over",
			entries: []metav1.ManagedFieldsEntry{entry("broken", `["f:spec", {"f:hosts": {}}]`), entry("ops", `{"f:spec":{"f:hosts":{}}}`)},
			path:    path("spec", "hosts", 0),
			want:    "ops",
		},
	}
	m := &Manager{opts: Options{FieldManager: DefaultFieldManager}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: live}
			u.SetManagedFields(tt.entries)
			if got := m.owner(managedSets(u), live, tt.path); got != tt.want {
				t.Errorf("owner of %s = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

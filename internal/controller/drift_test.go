package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// kubectlEdit sets the first route's weights of the VirtualService as
// `kubectl edit` would: an update by the field manager "kubectl-edit".
func kubectlEdit(t *testing.T, ns, name string, w1, w2 int64) {
	t.Helper()
	vs := mustGet(t, vsGVK, ns, name)
	base := vs.DeepCopy()
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	route, _, _ := unstructured.NestedSlice(http[0].(map[string]any), "route")
	route[0].(map[string]any)["weight"] = w1
	route[1].(map[string]any)["weight"] = w2
	http[0].(map[string]any)["route"] = route
	if err := unstructured.SetNestedSlice(vs.Object, http, "spec", "http"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Patch(t.Context(), vs, client.MergeFrom(base), client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatalf("editing VirtualService %s/%s: %v", ns, name, err)
	}
}

// waitEventFast polls for an Event every 20ms and returns how long it took
// from start, failing after timeout.
func waitEventFast(t *testing.T, obj *v1alpha1.IntentSync, reason string, start time.Time, timeout time.Duration, parts ...string) (string, time.Duration) {
	t.Helper()
	for {
	next:
		for _, m := range events(t, obj, reason) {
			for _, p := range parts {
				if !strings.Contains(m, p) {
					continue next
				}
			}
			return m, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("no %s event containing %q within %s; have %q", reason, parts, timeout, events(t, obj, reason))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDriftIsDetectedAndCorrected(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	m := startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.DriftMode = v1alpha1.DriftModeReport })
	rev := "main@sha1:" + repo.head
	waitReady(t, obj, rev, 30*time.Second)
	vsID := "VirtualService/" + ns + "/reviews"

	t.Run("a kubectl edit of a weight is reported within a second", func(t *testing.T) {
		start := time.Now()
		kubectlEdit(t, ns, "reviews", 50, 50)
		want := vsID + " .spec.http[0].route[0].weight: want 80, have 50 (kubectl-edit)"
		msg, took := waitEventFast(t, obj, v1alpha1.ReasonDriftDetected, start, 3*time.Second, want)
		t.Logf("DriftDetected after %s: %s", took.Round(time.Millisecond), msg)

		var got *v1alpha1.IntentSync
		eventually(t, 3*time.Second, func() error {
			got = getSync(t, obj)
			if d := got.Status.Drift; d == nil || d.Drifted == 0 || !slices.Contains(d.Entries, want) {
				return fmt.Errorf("status.drift = %+v, want an entry %q", d, want)
			}
			return nil
		})
		t.Logf("status.drift after %s", time.Since(start).Round(time.Millisecond))
		if c := condition(got, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonDriftDetected {
			t.Errorf("Ready = %s %s, want False DriftDetected", c.Status, c.Reason)
		}
		if v := gaugeValue(t, "meshintent_drifted_objects", map[string]string{"namespace": ns, "name": "mesh"}); v != 1 {
			t.Errorf("meshintent_drifted_objects = %v, want 1", v)
		}
	})

	t.Run("report mode leaves the drift in place", func(t *testing.T) {
		time.Sleep(time.Second)
		checkWeights(t, ns, "reviews", 50, 50)
	})

	t.Run("switching to correct mode reverts it", func(t *testing.T) {
		patchSync(t, obj, func(cur *v1alpha1.IntentSync) { cur.Spec.DriftMode = v1alpha1.DriftModeCorrect })
		eventually(t, 10*time.Second, func() error {
			if w := weights(mustGet(t, vsGVK, ns, "reviews")); !slices.Equal(w, []int64{80, 20}) {
				return fmt.Errorf("weights %v, want [80 20]", w)
			}
			return nil
		})
		got := waitReason(t, obj, v1alpha1.ReasonSynced, 5*time.Second)
		if got.Status.Drift == nil || got.Status.Drift.Drifted != 0 {
			t.Errorf("status.drift = %+v, want nothing drifted", got.Status.Drift)
		}
	})

	t.Run("in correct mode an edit is reverted at once", func(t *testing.T) {
		start := time.Now()
		kubectlEdit(t, ns, "reviews", 30, 70)
		_, took := waitEventFast(t, obj, v1alpha1.ReasonDriftDetected, start, 3*time.Second, "have 30 (kubectl-edit)")
		t.Logf("DriftDetected after %s", took.Round(time.Millisecond))
		_, took = waitEventFast(t, obj, EventDriftCorrected, start, 3*time.Second, vsID)
		t.Logf("DriftCorrected after %s", took.Round(time.Millisecond))
		eventually(t, 3*time.Second, func() error {
			if w := weights(mustGet(t, vsGVK, ns, "reviews")); !slices.Equal(w, []int64{80, 20}) {
				return fmt.Errorf("weights %v, want [80 20]", w)
			}
			return nil
		})
		got := getSync(t, obj)
		if d := got.Status.Drift; d == nil || d.Drifted != 0 || d.Corrected < 1 {
			t.Errorf("status.drift = %+v, want nothing drifted and a correction counted", d)
		}
		vs := mustGet(t, vsGVK, ns, "reviews")
		for _, mf := range vs.GetManagedFields() {
			if mf.Manager == "kubectl-edit" && strings.Contains(mf.FieldsV1.GetRawString(), "f:http") {
				t.Errorf("kubectl-edit still owns spec.http after the correction")
			}
		}
	})

	t.Run("in correct mode a deleted object is recreated", func(t *testing.T) {
		dr := mustGet(t, drGVK, ns, "reviews")
		start := time.Now()
		if err := env.Client.Delete(t.Context(), dr); err != nil {
			t.Fatal(err)
		}
		waitEventFast(t, obj, v1alpha1.ReasonDriftDetected, start, 3*time.Second, "DestinationRule/"+ns+"/reviews: missing")
		eventually(t, 3*time.Second, func() error {
			_, err := get(drGVK, ns, "reviews")
			return err
		})
		t.Logf("recreated after %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("our own applies are not checked for drift", func(t *testing.T) {
		before := m.driftCount(obj)
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 60, 40)})
		stampRequestedAt(t, obj)
		waitReady(t, obj, "main@sha1:"+next, 10*time.Second)
		time.Sleep(time.Second)
		if n := m.driftCount(obj) - before; n != 0 {
			t.Errorf("%d drift reconciles after our own apply, want 0", n)
		}
		checkWeights(t, ns, "reviews", 60, 40)
	})
}

func TestDriftPredicate(t *testing.T) {
	at := func(sec int) *metav1.Time { tm := metav1.NewTime(time.Unix(int64(1000+sec), 0)); return &tm }
	obj := func(gen int64, labels map[string]string, managers ...metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Generation: gen, Labels: labels, ManagedFields: managers}}
	}
	ours := func(sec int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: "meshintent", Operation: metav1.ManagedFieldsOperationApply, Time: at(sec)}
	}
	theirs := func(sec int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(sec)}
	}
	l := map[string]string{"a": "b"}
	tests := []struct {
		name     string
		old, new client.Object
		want     bool
	}{
		{"a spec change by another manager passes", obj(1, l, ours(0)), obj(2, l, ours(0), theirs(5)), true},
		{"a spec change by our apply is dropped", obj(1, l, ours(0), theirs(5)), obj(2, l, ours(9), theirs(5)), false},
		{"a change in the same second as ours counts as foreign", obj(1, l, ours(0)), obj(2, l, ours(5), theirs(5)), true},
		{"a status-only update is dropped", obj(1, l, ours(0)), obj(1, l, ours(0), theirs(7)), false},
		{"a label change by another manager passes", obj(1, l, ours(0)), obj(1, map[string]string{"a": "c"}, ours(0), theirs(3)), true},
		{"an update without managed fields passes", obj(1, l), obj(2, l), true},
	}
	p := foreignChange("meshintent")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
				t.Errorf("Update = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("deletes pass and creates are dropped", func(t *testing.T) {
		o := obj(1, l, ours(0))
		if !p.Delete(event.DeleteEvent{Object: o}) || p.Create(event.CreateEvent{Object: o}) {
			t.Errorf("Delete = %v, Create = %v; want true, false", p.Delete(event.DeleteEvent{Object: o}), p.Create(event.CreateEvent{Object: o}))
		}
	})
}

func TestDropFieldSets(t *testing.T) {
	at := metav1.NewTime(time.Unix(1000, 0))
	entry := metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: &at,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:hosts":{}}}`)}
	o := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "r", ManagedFields: []metav1.ManagedFieldsEntry{entry}}}
	got, err := dropFieldSets(o)
	if err != nil {
		t.Fatal(err)
	}
	mf := got.(*metav1.PartialObjectMetadata).ManagedFields
	want := entry
	want.FieldsV1 = nil
	if diff := cmp.Diff([]metav1.ManagedFieldsEntry{want}, mf); diff != "" {
		t.Errorf("managedFields (-want +got):\n%s", diff)
	}
	if !lastWriteIsOurs(got.(client.Object), "kubectl-edit") {
		t.Error("the last writer is no longer known")
	}
	tombstone := toolscache.DeletedFinalStateUnknown{Key: "a/r"}
	if got, err := dropFieldSets(tombstone); err != nil || got != tombstone {
		t.Errorf("tombstone: %v, %v", got, err)
	}
}

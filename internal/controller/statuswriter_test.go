package controller

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// ignoreTransitions leaves out what apimeta.SetStatusCondition stamps.
var ignoreTransitions = cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")

func cond(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason}
}

func TestStatusChange(t *testing.T) {
	ready := cond(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSynced)
	notReady := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonFetchFailed)
	stalled := cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonPolicyDenied)
	scheduled := cond(ConditionDriftReportScheduled, metav1.ConditionTrue, ReasonReportScheduled)
	tests := []struct {
		name                 string
		before, after, other v1alpha1.IntentSyncStatus
		want                 v1alpha1.IntentSyncStatus
	}{
		{
			name:   "a changed field is written and the other writer's fields are kept",
			before: v1alpha1.IntentSyncStatus{LastAppliedRevision: "a"},
			after:  v1alpha1.IntentSyncStatus{LastAppliedRevision: "b", ObservedGeneration: 2},
			other:  v1alpha1.IntentSyncStatus{LastAppliedRevision: "a", DriftReport: &v1alpha1.DriftReportStatus{MissedRuns: 3}},
			want:   v1alpha1.IntentSyncStatus{LastAppliedRevision: "b", ObservedGeneration: 2, DriftReport: &v1alpha1.DriftReportStatus{MissedRuns: 3}},
		},
		{
			name:   "a field this writer left alone keeps the other writer's value",
			before: v1alpha1.IntentSyncStatus{LastFetchedRevision: "a"},
			after:  v1alpha1.IntentSyncStatus{LastFetchedRevision: "a", LastAttemptedRevision: "a"},
			other:  v1alpha1.IntentSyncStatus{LastFetchedRevision: "c"},
			want:   v1alpha1.IntentSyncStatus{LastFetchedRevision: "c", LastAttemptedRevision: "a"},
		},
		{
			name:   "a changed condition is set and the other writer's conditions are kept",
			before: v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{notReady}},
			after:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{ready}},
			other:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{notReady, scheduled}},
			want:   v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{ready, scheduled}},
		},
		{
			name:   "a condition this writer removed is removed",
			before: v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{notReady, stalled}},
			after:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{ready}},
			other:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{scheduled, notReady, stalled}},
			want:   v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{scheduled, ready}},
		},
		{
			name:   "a condition this writer left alone keeps the other writer's value",
			before: v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{ready}, LastFetchedRevision: "a"},
			after:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{ready}, LastFetchedRevision: "b"},
			other:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{notReady}},
			want:   v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{notReady}, LastFetchedRevision: "b"},
		},
		{
			name:   "a condition this writer added is added",
			before: v1alpha1.IntentSyncStatus{},
			after:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{stalled}},
			other:  v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{scheduled}},
			want:   v1alpha1.IntentSyncStatus{Conditions: []metav1.Condition{scheduled, stalled}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			change := statusChange(&tc.before, &tc.after)
			got := tc.other.DeepCopy()
			change(got)
			if diff := cmp.Diff(tc.want, *got, ignoreTransitions); diff != "" {
				t.Errorf("status after the change (-want +got):\n%s", diff)
			}
			// A retry makes the change again on what it read: the same result.
			change(got)
			if diff := cmp.Diff(tc.want, *got, ignoreTransitions); diff != "" {
				t.Errorf("status after the change made twice (-want +got):\n%s", diff)
			}
		})
	}
}

// newBareIntentSync creates an IntentSync no controller reconciles (no
// manager watches the test's namespace), for writing status by hand.
func newBareIntentSync(t *testing.T, ns, name string) *v1alpha1.IntentSync {
	t.Helper()
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntentSyncSpec{
			Source:   v1alpha1.GitSource{URL: "https://git.example.invalid/mesh.git", Branch: "main"},
			Interval: metav1.Duration{Duration: time.Hour},
		},
	}
	if err := env.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating IntentSync: %v", err)
	}
	return obj
}

func TestStatusWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	w := newStatusWriter(env.Client)

	t.Run("each step's patch is written and leaves the object as the API server has it", func(t *testing.T) {
		obj := newBareIntentSync(t, ns, "steps")
		p := w.newPatcher(obj)
		markProgressing(obj, "applying revision main@sha1:1")
		p.progress(ctx, obj)
		got := getSync(t, obj)
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status != metav1.ConditionTrue || c.Message != "applying revision main@sha1:1" {
			t.Errorf("after the progress patch Reconciling = %s %q, want True with the progress message", c.Status, c.Message)
		}
		if obj.ResourceVersion != got.ResourceVersion {
			t.Errorf("resourceVersion %s, want the API server's %s", obj.ResourceVersion, got.ResourceVersion)
		}

		markSynced(obj, "main@sha1:1")
		obj.Status.LastAppliedRevision = "main@sha1:1"
		if err := p.finish(ctx, obj); err != nil {
			t.Fatalf("finish: %v", err)
		}
		got = getSync(t, obj)
		if diff := cmp.Diff(obj.Status, got.Status); diff != "" {
			t.Errorf("status on the API server (-want +got):\n%s", diff)
		}

		// Nothing changed: no write, so the resourceVersion stays.
		rv := got.ResourceVersion
		if err := p.finish(ctx, obj); err != nil {
			t.Fatalf("finish: %v", err)
		}
		if got := getSync(t, obj); got.ResourceVersion != rv {
			t.Errorf("a finish without changes moved the resourceVersion from %s to %s", rv, got.ResourceVersion)
		}
	})

	t.Run("a reconciler's write keeps what the report scheduler wrote meanwhile", func(t *testing.T) {
		obj := newBareIntentSync(t, ns, "conflict")
		p := w.newPatcher(obj) // obj is now stale, as a cached read may be

		_, err := w.update(ctx, client.ObjectKeyFromObject(obj), func(o *v1alpha1.IntentSync) {
			markReportScheduled(o, "drift reports run on schedule \"@hourly\" in time zone UTC")
			o.Status.DriftReport = &v1alpha1.DriftReportStatus{MissedRuns: 2}
		})
		if err != nil {
			t.Fatalf("update: %v", err)
		}

		markFailed(obj, v1alpha1.ReasonFetchFailed, "remote unreachable", false, time.Second)
		obj.Status.LastFetchedRevision = "main@sha1:2"
		if err := p.finish(ctx, obj); err != nil {
			t.Fatalf("finish: %v", err)
		}
		got := getSync(t, obj)
		want := map[string]string{
			"Ready":                       "False FetchFailed",
			"Reconciling":                 "True Progressing",
			ConditionDriftReportScheduled: "True Scheduled",
		}
		if diff := cmp.Diff(want, conds(got)); diff != "" {
			t.Errorf("conditions on the API server (-want +got):\n%s", diff)
		}
		if got.Status.DriftReport == nil || got.Status.DriftReport.MissedRuns != 2 {
			t.Errorf("status.driftReport = %+v, want the scheduler's 2 missed runs", got.Status.DriftReport)
		}
		if got.Status.LastFetchedRevision != "main@sha1:2" {
			t.Errorf("lastFetchedRevision = %q, want the reconciler's main@sha1:2", got.Status.LastFetchedRevision)
		}
		if diff := cmp.Diff(got.Status, obj.Status); diff != "" {
			t.Errorf("the reconciler's copy after the write (-server +copy):\n%s", diff)
		}
	})

	t.Run("concurrent updates are all kept", func(t *testing.T) {
		obj := newBareIntentSync(t, ns, "concurrent")
		key := client.ObjectKeyFromObject(obj)
		// Each conflict means another writer got through, so with n
		// writers each needs at most n attempts: retry.DefaultBackoff has 4.
		const writers = 4
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Go(func() {
				_, err := w.update(ctx, key, func(o *v1alpha1.IntentSync) {
					if o.Status.DriftReport == nil {
						o.Status.DriftReport = &v1alpha1.DriftReportStatus{}
					}
					o.Status.DriftReport.MissedRuns++
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("update: %v", err)
			}
		}
		if got := getSync(t, obj).Status.DriftReport; got == nil || got.MissedRuns != writers {
			t.Errorf("status.driftReport = %+v, want %d missed runs, one per writer", got, writers)
		}
	})

	t.Run("a gone IntentSync is not an error", func(t *testing.T) {
		obj := newBareIntentSync(t, ns, "gone")
		p := w.newPatcher(obj)
		if err := env.Client.Delete(ctx, obj.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		markSynced(obj, "main@sha1:1")
		if err := p.finish(ctx, obj); err != nil {
			t.Errorf("finish: %v, want nil", err)
		}
		got, err := w.update(ctx, types.NamespacedName{Namespace: ns, Name: "gone"}, func(o *v1alpha1.IntentSync) { markSynced(o, "x") })
		if got != nil || err != nil {
			t.Errorf("update = %v, %v; want nil, nil", got, err)
		}
	})
}

package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
)

func TestSyncAppliesTheCommit(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, nil)
	rev := "main@sha1:" + repo.head

	got := waitReady(t, obj, rev, 30*time.Second)

	t.Run("Ready is True with reason Synced naming the revision", func(t *testing.T) {
		ready := condition(got, v1alpha1.ConditionReady)
		want := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSynced,
			Message: "applied revision " + rev, ObservedGeneration: got.Generation}
		ready.LastTransitionTime = metav1.Time{}
		if diff := cmp.Diff(want, ready); diff != "" {
			t.Errorf("Ready (-want +got):\n%s", diff)
		}
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status != metav1.ConditionFalse {
			t.Errorf("Reconciling = %s %s, want False", c.Status, c.Reason)
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status != "" {
			t.Errorf("Stalled = %s %s, want absent", c.Status, c.Reason)
		}
	})

	t.Run("status records the revisions, inventory, policy verdict and the attempt", func(t *testing.T) {
		s := got.Status
		gotRevs := []string{s.LastFetchedRevision, s.LastAttemptedRevision, s.LastAppliedRevision}
		if diff := cmp.Diff([]string{rev, rev, rev}, gotRevs); diff != "" {
			t.Errorf("fetched, attempted, applied revisions (-want +got):\n%s", diff)
		}
		if s.ObservedGeneration != got.Generation || s.LastAppliedTime == nil {
			t.Errorf("observedGeneration %d (generation %d), lastAppliedTime %v", s.ObservedGeneration, got.Generation, s.LastAppliedTime)
		}
		wantInv := &v1alpha1.InventoryStatus{Total: 2, Entries: []string{
			"DestinationRule/" + ns + "/reviews", "VirtualService/" + ns + "/reviews",
		}}
		if diff := cmp.Diff(wantInv, s.Inventory); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
		if s.Policy == nil || s.Policy.Revision != rev || s.Policy.Denials != 0 {
			t.Errorf("policy = %+v, want no denials for %s", s.Policy, rev)
		}
		if len(s.History) != 1 || s.History[0].Revision != rev || s.History[0].Result != v1alpha1.ReasonSynced {
			t.Errorf("history = %+v, want one Synced attempt of %s", s.History, rev)
		}
		// The commit as people know it: newIntentRepo commits "intents" as
		// gitfixture's author "Test".
		for what, c := range map[string]*v1alpha1.CommitInfo{"lastAppliedCommit": s.LastAppliedCommit, "history[0].commit": s.History[0].Commit} {
			if c == nil || c.Subject != "intents" || c.Author != "Test" || c.Time == nil {
				t.Errorf("%s = %+v, want subject \"intents\" by Test with a time", what, c)
			}
		}
	})

	t.Run("the objects exist labelled with the IntentSync and owned by meshintent", func(t *testing.T) {
		vs := mustGet(t, vsGVK, ns, "reviews")
		mustGet(t, drGVK, ns, "reviews")
		wantLabels := map[string]string{
			"app.kubernetes.io/managed-by": "meshintent", SyncNamespaceLabel: ns, SyncNameLabel: "mesh",
		}
		if diff := cmp.Diff(wantLabels, vs.GetLabels()); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{80, 20}, weights(vs)); diff != "" {
			t.Errorf("weights (-want +got):\n%s", diff)
		}
		for _, mf := range vs.GetManagedFields() {
			if mf.Manager != apply.DefaultFieldManager {
				t.Errorf("field manager %q on the VirtualService, want only %q", mf.Manager, apply.DefaultFieldManager)
			}
		}
	})

	t.Run("an Applied event and the metrics say so", func(t *testing.T) {
		waitEvent(t, obj, EventApplied, 5*time.Second, "applied revision "+rev, "2 created")
		if v := gaugeValue(t, "meshintent_last_applied_timestamp_seconds", map[string]string{"namespace": ns, "name": "mesh"}); v < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("meshintent_last_applied_timestamp_seconds = %v, want about now", v)
		}
	})
}

func TestSyncPollsNewCommits(t *testing.T) {
	t.Parallel()
	ns, repo, _, obj, _ := pollingReviews(t)

	t.Run("a pushed commit is applied by the poll", func(t *testing.T) {
		second := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
		got := waitReady(t, obj, "main@sha1:"+second, 15*time.Second)
		checkWeights(t, ns, "reviews", 50, 50)
		if len(got.Status.History) != 2 || got.Status.History[0].Revision != "main@sha1:"+second {
			t.Errorf("history = %+v, want the new revision first of two", got.Status.History)
		}
	})

	t.Run("the poll's full check counts unmanaged objects and reports a drift only once", func(t *testing.T) {
		createKialiVirtualService(t, ns)
		kubectlEdit(t, ns, "reviews", 10, 90)
		eventually(t, 5*time.Second, func() error {
			d := getSync(t, obj).Status.Drift
			if d == nil || d.Unmanaged != 1 || d.Drifted != 2 {
				return fmt.Errorf("status.drift = %+v, want 1 unmanaged and 2 drifted fields", d)
			}
			return nil
		})
		time.Sleep(3 * time.Second) // three more polls
		list := &corev1.EventList{}
		if err := env.Client.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var counts []int32
		for _, e := range list.Items {
			if e.Reason == v1alpha1.ReasonDriftDetected {
				counts = append(counts, e.Count)
			}
		}
		if diff := cmp.Diff([]int32{1}, counts); diff != "" {
			t.Errorf("DriftDetected event counts (-want +got):\n%s", diff)
		}
		// Put Git's weights back, as the next subtest expects a quiet cluster.
		kubectlEdit(t, ns, "reviews", 50, 50)
		waitReason(t, obj, v1alpha1.ReasonSynced, 5*time.Second)
	})

	t.Run("polls of an unchanged revision write nothing", func(t *testing.T) {
		before := resourceVersions(t, ns)
		time.Sleep(3 * time.Second) // three polls
		if diff := cmp.Diff(before, resourceVersions(t, ns)); diff != "" {
			t.Errorf("resourceVersions moved (-before +after):\n%s", diff)
		}
		if n := len(getSync(t, obj).Status.History); n != 2 {
			t.Errorf("history has %d attempts, want still 2", n)
		}
	})
}

// badVirtualService is a passed-through VirtualService whose weights sum to
// 90, which the built-in policy meshintent.weights denies.
func badVirtualService(ns string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
  namespace: %s
spec:
  hosts:
  - ratings
  http:
  - route:
    - destination:
        host: ratings-v1
      weight: 60
    - destination:
        host: ratings-v2
      weight: 30
`, ns)
}

func TestSyncStallsOnADeniedCommit(t *testing.T) {
	t.Parallel()
	ns, repo, m, obj, good := pollingReviews(t)
	before := resourceVersions(t, ns)

	bad := "main@sha1:" + repo.commit(map[string]string{
		"reviews.yaml": serviceIntent(ns, "reviews", 10, 90),
		"ratings.yaml": badVirtualService(ns),
	})
	got := waitReason(t, obj, v1alpha1.ReasonPolicyDenied, 15*time.Second)

	t.Run("Ready is False with PolicyDenied naming the policy and the file, and Stalled is True", func(t *testing.T) {
		ready := condition(got, v1alpha1.ConditionReady)
		for _, want := range []string{"meshintent.weights", "ratings.yaml", "VirtualService/" + ns + "/ratings"} {
			if !strings.Contains(ready.Message, want) {
				t.Errorf("Ready message %q does not name %q", ready.Message, want)
			}
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonPolicyDenied {
			t.Errorf("Stalled = %s %s, want True PolicyDenied", c.Status, c.Reason)
		}
		if got.Status.LastAttemptedRevision != bad || got.Status.LastAppliedRevision != good {
			t.Errorf("attempted %q, applied %q; want %q and still %q", got.Status.LastAttemptedRevision, got.Status.LastAppliedRevision, bad, good)
		}
		p := got.Status.Policy
		if p == nil || p.Revision != bad || p.Denials == 0 || p.Results[0].Policy != "meshintent.weights" || p.Results[0].Source != "ratings.yaml" {
			t.Errorf("policy status = %+v, want the weights denial of ratings.yaml first", p)
		} else if r := p.Results[0]; r.Line != 10 || r.Field != "spec.http[0].route" {
			// Line 10 of ratings.yaml is "  - route:", the route whose weights do not add up.
			t.Errorf("policy result at line %d field %q, want line 10 field spec.http[0].route", r.Line, r.Field)
		}
		waitEvent(t, obj, v1alpha1.ReasonPolicyDenied, 5*time.Second, "meshintent.weights", "ratings.yaml")
	})

	t.Run("the cluster is unchanged", func(t *testing.T) {
		if diff := cmp.Diff(before, resourceVersions(t, ns)); diff != "" {
			t.Errorf("resourceVersions moved (-before +after):\n%s", diff)
		}
		env.CheckAbsent(t, vsGVK, ns, "ratings")
	})

	t.Run("the denied revision is not retried in a loop", func(t *testing.T) {
		reconciles := m.syncCount(obj)
		time.Sleep(3 * time.Second)
		// Polls every second fetch and skip; a hot loop would run hundreds.
		if n := m.syncCount(obj) - reconciles; n > 5 {
			t.Errorf("%d reconciles in 3s with a 1s interval, want at most 5", n)
		}
		var attempts int
		for _, a := range getSync(t, obj).Status.History {
			if a.Revision == bad {
				attempts++
			}
		}
		if attempts != 1 {
			t.Errorf("%d attempts of the denied revision in history, want 1", attempts)
		}
	})

	t.Run("a fixing commit makes it Ready again", func(t *testing.T) {
		fixed := repo.commit(map[string]string{"ratings.yaml": strings.Replace(badVirtualService(ns), "weight: 30", "weight: 40", 1)})
		got := waitReady(t, obj, "main@sha1:"+fixed, 15*time.Second)
		if c := condition(got, v1alpha1.ConditionStalled); c.Status != "" {
			t.Errorf("Stalled = %s %s, want absent", c.Status, c.Reason)
		}
		checkWeights(t, ns, "ratings", 60, 40)
	})
}

func TestSyncSurvivesTheGitServerGoingDown(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.Interval.Duration = time.Second
		s.RetryInterval = &metav1.Duration{Duration: 2 * time.Second}
	})
	good := "main@sha1:" + repo.head
	waitReady(t, obj, good, 30*time.Second)

	repo.srv.Stop()
	got := waitReason(t, obj, v1alpha1.ReasonFetchFailed, 15*time.Second)

	t.Run("a fetch failure is Ready False FetchFailed and keeps the last applied state", func(t *testing.T) {
		if c := condition(got, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse {
			t.Errorf("Ready = %s, want False", c.Status)
		}
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "retrying in") {
			t.Errorf("Reconciling = %s %q, want True with the retry delay", c.Status, c.Message)
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status == metav1.ConditionTrue {
			t.Errorf("Stalled = True for a transient failure")
		}
		if got.Status.LastAppliedRevision != good {
			t.Errorf("lastAppliedRevision = %q, want still %q", got.Status.LastAppliedRevision, good)
		}
		checkWeights(t, ns, "reviews", 80, 20)
		waitEvent(t, obj, v1alpha1.ReasonFetchFailed, 5*time.Second, "remote unreachable")
	})

	t.Run("retries back off up to retryInterval", func(t *testing.T) {
		time.Sleep(4 * time.Second)
		var fetchFailures int
		for _, a := range getSync(t, obj).Status.History {
			if a.Result == v1alpha1.ReasonFetchFailed {
				fetchFailures++
			}
		}
		// 1s, 2s, 2s...: two to four retries in the first few seconds, not a loop.
		if fetchFailures < 2 || fetchFailures > 5 {
			t.Errorf("%d fetch failures recorded, want 2 to 5", fetchFailures)
		}
	})

	t.Run("once the server is back it recovers by itself", func(t *testing.T) {
		repo.srv.Start()
		got := waitReason(t, obj, v1alpha1.ReasonSynced, 15*time.Second)
		if got.Status.LastAppliedRevision != good {
			t.Errorf("lastAppliedRevision = %q, want %q", got.Status.LastAppliedRevision, good)
		}
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status != metav1.ConditionFalse {
			t.Errorf("Reconciling = %s %q, want False", c.Status, c.Message)
		}
	})

	t.Run("and applies new commits again", func(t *testing.T) {
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 70, 30)})
		waitReady(t, obj, "main@sha1:"+next, 15*time.Second)
		checkWeights(t, ns, "reviews", 70, 30)
	})
}

func TestSuspendLeavesTheClusterAlone(t *testing.T) {
	t.Parallel()
	ns, repo, _, obj, good := pollingReviews(t)

	setSuspend := func(t *testing.T, suspend bool) {
		patchSync(t, obj, func(cur *v1alpha1.IntentSync) { cur.Spec.Suspend = suspend })
	}

	t.Run("a suspended IntentSync keeps Ready and applies no commit", func(t *testing.T) {
		setSuspend(t, true)
		eventually(t, 5*time.Second, func() error {
			if c := condition(getSync(t, obj), v1alpha1.ConditionReconciling); c.Reason != v1alpha1.ReasonSuspended {
				return fmt.Errorf("Reconciling = %s %s, want reason Suspended", c.Status, c.Reason)
			}
			return nil
		})
		repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
		time.Sleep(3 * time.Second) // three poll intervals
		got := getSync(t, obj)
		if c := condition(got, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || got.Status.LastAppliedRevision != good {
			t.Errorf("Ready = %s, lastAppliedRevision %q; want True and still %q", c.Status, got.Status.LastAppliedRevision, good)
		}
		checkWeights(t, ns, "reviews", 80, 20)
	})

	t.Run("resuming applies the new commit", func(t *testing.T) {
		setSuspend(t, false)
		waitReady(t, obj, "main@sha1:"+repo.head, 15*time.Second)
	})
}

func TestDeletingAPruningSyncRemovesWhatItApplied(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.Prune = true })
	got := waitReady(t, obj, "main@sha1:"+repo.head, 30*time.Second)
	if !controllerutil.ContainsFinalizer(got, Finalizer) {
		t.Fatalf("finalizers = %v, want %s while prune is on", got.Finalizers, Finalizer)
	}

	if err := env.Client.Delete(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), &v1alpha1.IntentSync{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("IntentSync still there (err %w)", err)
		}
		return nil
	})
	for _, gvk := range []schema.GroupVersionKind{vsGVK, drGVK} {
		env.CheckAbsent(t, gvk, ns, "reviews")
	}
	inv := &corev1.ConfigMap{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: apply.DefaultInventoryNamespace, Name: inventoryName(obj)}, inv); !apierrors.IsNotFound(err) {
		t.Errorf("inventory ConfigMap survived the deletion (err %v)", err)
	}
}

func TestStatusUpdatesDoNotWakeTheReconciler(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	m := startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, nil) // 1h interval: no poll during the test
	waitReady(t, obj, "main@sha1:"+repo.head, 30*time.Second)
	time.Sleep(time.Second) // let the reconciler's own status patch pass
	before := m.syncCount(obj)

	t.Run("a status patch and a label change do not reconcile", func(t *testing.T) {
		cur := getSync(t, obj)
		base := cur.DeepCopy()
		cur.Status.DriftReport = &v1alpha1.DriftReportStatus{Summary: "written by the test"}
		if err := env.Client.Status().Patch(t.Context(), cur, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
		patchSync(t, obj, func(cur *v1alpha1.IntentSync) { cur.Labels = map[string]string{"team": "mesh"} })
		time.Sleep(2 * time.Second)
		if n := m.syncCount(obj) - before; n != 0 {
			t.Errorf("%d reconciles after status and label updates, want 0", n)
		}
	})

	t.Run("a spec change does", func(t *testing.T) {
		patchSync(t, obj, func(cur *v1alpha1.IntentSync) { cur.Spec.Interval.Duration = 2 * time.Hour })
		m.waitSyncs(t, obj, before, 5*time.Second)
	})

	t.Run("a reconcile-requested-at annotation does", func(t *testing.T) {
		n := m.syncCount(obj)
		stampRequestedAt(t, obj)
		m.waitSyncs(t, obj, n, 5*time.Second)
	})
}

// gaugeValue reads a gauge from controller-runtime's metrics registry.
func gaugeValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matchLabels(m, labels) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func matchLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

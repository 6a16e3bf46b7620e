package controller

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// TestSyncStallsOnAPolicyError commits a policy that breaks the sandbox (an
// http.send to a local listener): the revision fails with the PolicyError
// reason, nothing of it is applied and nothing reaches the listener; a
// fixing commit is applied. A policy overrunning its budget is not a
// verdict (TestSyncRetriesAPolicyTimeout).
func TestSyncStallsOnAPolicyError(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()

	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.Interval.Duration = time.Second
		s.PolicyTimeout = &metav1.Duration{Duration: time.Second}
	})
	good := "main@sha1:" + repo.head
	waitReady(t, obj, good, 30*time.Second)
	before := resourceVersions(t, ns)

	tests := []struct {
		name   string
		policy string
		want   string
	}{{
		name:   "a policy calling http.send",
		policy: "package hostile\n\ndeny contains msg if {\n\tinput.kind == \"VirtualService\"\n\tr := http.send({\"method\": \"GET\", \"url\": \"" + srv.URL + "\"})\n\tmsg := sprintf(\"%v\", [r])\n}\n",
		want:   "policies/hostile.rego:5: builtin http.send is not allowed in policies",
	}}
	for _, tt := range tests {
		t.Run(tt.name+" stalls the revision with PolicyError and applies nothing", func(t *testing.T) {
			bad := "main@sha1:" + repo.commit(map[string]string{
				"reviews.yaml":          serviceIntent(ns, "reviews", 10, 90), // would change the weights
				"policies/hostile.rego": tt.policy,
			})
			var got *v1alpha1.IntentSync
			eventually(t, 30*time.Second, func() error {
				got = getSync(t, obj)
				if ready := condition(got, v1alpha1.ConditionReady); ready.Reason != v1alpha1.ReasonPolicyError || got.Status.LastAttemptedRevision != bad {
					return fmt.Errorf("Ready=%s %s %q, attempted %q; want PolicyError for %s", ready.Status, ready.Reason, ready.Message, got.Status.LastAttemptedRevision, bad)
				}
				return nil
			})
			ready := condition(got, v1alpha1.ConditionReady)
			if ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, tt.want) {
				t.Errorf("Ready = %s %q, want False naming %q", ready.Status, ready.Message, tt.want)
			}
			if c := condition(got, v1alpha1.ConditionStalled); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonPolicyError {
				t.Errorf("Stalled = %s %s, want True PolicyError", c.Status, c.Reason)
			}
			if got.Status.LastAppliedRevision != good {
				t.Errorf("applied %q, want still %q", got.Status.LastAppliedRevision, good)
			}
			if diff := cmp.Diff(before, resourceVersions(t, ns)); diff != "" {
				t.Errorf("objects changed (-before +after):\n%s", diff)
			}
			checkWeights(t, ns, "reviews", 80, 20)
			waitEvent(t, obj, v1alpha1.ReasonPolicyError, 5*time.Second, tt.want)
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests arrived at the local listener", n)
	}

	t.Run("a fixing commit is applied", func(t *testing.T) {
		fixed := repo.commit(map[string]string{"policies/hostile.rego": "package hostile\n"})
		waitReady(t, obj, "main@sha1:"+fixed, 30*time.Second)
		checkWeights(t, ns, "reviews", 10, 90)
	})
}

// TestSyncRetriesAPolicyTimeout gives a real evaluation a budget it cannot
// meet, as a loaded controller might: the IntentSync is not Ready
// (PolicyTimeout) but not Stalled either, it is Reconciling and retried with
// backoff long before the next poll, and nothing is applied. With a normal
// budget the same revision becomes Ready. A policy that loops overruns any
// budget: it is retried the same way, never applied.
func TestSyncRetriesAPolicyTimeout(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	m := startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		// The poll (an hour, newIntentSync's) never comes in this test:
		// every attempt after the first is a backoff retry (at most 2s).
		s.PolicyTimeout = &metav1.Duration{Duration: time.Microsecond}
	})
	head := "main@sha1:" + repo.head

	// timesOut waits for obj to fail on a timeout of budget and checks that
	// it is retried, not stalled, and that nothing is applied.
	timesOut := func(t *testing.T, budget string, wantApplied string) {
		t.Helper()
		before := resourceVersions(t, ns)
		got := waitReason(t, obj, v1alpha1.ReasonPolicyTimeout, 30*time.Second)
		ready := condition(got, v1alpha1.ConditionReady)
		if ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "policy evaluation took longer than its budget of "+budget) {
			t.Errorf("Ready = %s %q, want False naming the budget %s", ready.Status, ready.Message, budget)
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status == metav1.ConditionTrue {
			t.Errorf("Stalled = True %s: a timeout must be retried", c.Reason)
		}
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "retrying in") {
			t.Errorf("Reconciling = %s %q, want True, retrying", c.Status, c.Message)
		}
		// Two retries, long before the hourly poll.
		m.waitSyncs(t, obj, m.syncCount(obj)+1, 20*time.Second)
		got = getSync(t, obj)
		if r := condition(got, v1alpha1.ConditionReady).Reason; r != v1alpha1.ReasonPolicyTimeout {
			t.Errorf("after the retries Ready reason = %s, want PolicyTimeout", r)
		}
		if got.Status.LastAppliedRevision != wantApplied {
			t.Errorf("lastAppliedRevision = %q, want %q", got.Status.LastAppliedRevision, wantApplied)
		}
		if diff := cmp.Diff(before, resourceVersions(t, ns)); diff != "" {
			t.Errorf("objects changed (-before +after):\n%s", diff)
		}
		waitEvent(t, obj, v1alpha1.ReasonPolicyTimeout, 5*time.Second, "budget of "+budget)
	}
	setBudget := func(t *testing.T, d time.Duration) {
		t.Helper()
		patchSync(t, obj, func(cur *v1alpha1.IntentSync) { cur.Spec.PolicyTimeout = &metav1.Duration{Duration: d} })
	}

	t.Run("a budget of a microsecond is a PolicyTimeout, retried with backoff, nothing applied", func(t *testing.T) {
		timesOut(t, "1µs", "")
		env.CheckAbsent(t, vsGVK, ns, "reviews")
	})

	t.Run("with a normal budget the same revision becomes Ready", func(t *testing.T) {
		setBudget(t, 10*time.Second)
		got := waitReady(t, obj, head, 30*time.Second)
		if c := condition(got, v1alpha1.ConditionReconciling); c.Status == metav1.ConditionTrue {
			t.Errorf("still Reconciling: %s", c.Message)
		}
		checkWeights(t, ns, "reviews", 80, 20)
	})

	t.Run("a policy looping past its budget is retried, never applied", func(t *testing.T) {
		setBudget(t, time.Second)
		repo.commit(map[string]string{
			"reviews.yaml": serviceIntent(ns, "reviews", 10, 90), // would change the weights
			"policies/loop.rego": "package loop\n\ndeny contains \"never\" if {\n\tinput.kind == \"VirtualService\"\n\tsome a in numbers.range(1, 1000000)\n" +
				"\tsome b in numbers.range(1, 1000000)\n\ta * b == -1\n}\n",
		})
		triggerSync(t, obj)
		timesOut(t, "1s", head)
		checkWeights(t, ns, "reviews", 80, 20)
	})
}

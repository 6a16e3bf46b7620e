package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// TestLiveChecksDenyARouteToAMissingService runs the controller with
// Options.LiveChecks against the API server: a commit whose VirtualService
// routes to a Service the namespace does not have is denied by the live
// hosts check (IST0101, kept in status) and nothing is applied; once the
// Service exists, a new commit pushed at once applies: the new revision is
// judged against a fresh read of the cluster, not the reads cached for the
// denied one (liveTTL). Without LiveChecks the same commit applies at once
// (TestSyncAppliesTheCommit).
func TestLiveChecksDenyARouteToAMissingService(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	ctx := t.Context()
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, func(o *Options) { o.LiveChecks = true })
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.Interval.Duration = time.Second })
	denied := "main@sha1:" + repo.head

	got := waitReason(t, obj, v1alpha1.ReasonPolicyDenied, 30*time.Second)

	t.Run("the route to the missing Service is denied by the live hosts check", func(t *testing.T) {
		p := got.Status.Policy
		if p == nil || p.Revision != denied || p.Denials == 0 {
			t.Fatalf("policy status = %+v, want denials of %s", p, denied)
		}
		// status.policy carries istioctl analyze's code and message.
		var live []v1alpha1.PolicyResult
		for _, r := range p.Results {
			if r.Policy == "meshintent.live" && r.Severity == "deny" {
				live = append(live, r)
			}
		}
		want := []v1alpha1.PolicyResult{{
			Severity: "deny",
			Policy:   "meshintent.live",
			Code:     "IST0101",
			Object:   "VirtualService/" + ns + "/reviews",
			Source:   "reviews.yaml",
			Line:     7, // "  - {version: v1, weight: 80}": the split entry that makes route 0
			Field:    "spec.http[0].route[0].destination.host",
			Message:  `Referenced host not found: "reviews"`,
		}, {
			Severity: "deny",
			Policy:   "meshintent.live",
			Code:     "IST0101",
			Object:   "VirtualService/" + ns + "/reviews",
			Source:   "reviews.yaml",
			Line:     8,
			Field:    "spec.http[0].route[1].destination.host",
			Message:  `Referenced host not found: "reviews"`,
		}}
		if diff := cmp.Diff(want, live); diff != "" {
			t.Errorf("live denials in status.policy (-want +got):\n%s", diff)
		}
		ready := condition(got, v1alpha1.ConditionReady)
		for _, w := range []string{"meshintent.live", "Referenced host not found"} {
			if !strings.Contains(ready.Message, w) {
				t.Errorf("Ready message %q does not name %q", ready.Message, w)
			}
		}
		if got.Status.LastAttemptedRevision != denied || got.Status.LastAppliedRevision != "" {
			t.Errorf("attempted %q, applied %q; want %q and none", got.Status.LastAttemptedRevision, got.Status.LastAppliedRevision, denied)
		}
	})

	t.Run("nothing is applied", func(t *testing.T) {
		if diff := cmp.Diff(map[string]string{}, resourceVersions(t, ns)); diff != "" {
			t.Errorf("mesh objects in %s (-want +got):\n%s", ns, diff)
		}
		env.CheckAbsent(t, vsGVK, ns, "reviews")
	})

	t.Run("once the Service exists, a new commit applies", func(t *testing.T) {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reviews"},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "reviews"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 9080}},
			},
		}
		if err := env.Client.Create(ctx, svc); err != nil {
			t.Fatalf("creating Service reviews: %v", err)
		}
		// Pushed at once, within liveTTL of the denial's reads: judged by
		// them, the new revision would be denied and stalled for good.
		fixed := "main@sha1:" + repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 70, 30)})
		got := waitReady(t, obj, fixed, 30*time.Second)
		if p := got.Status.Policy; p == nil || p.Revision != fixed || p.Denials != 0 {
			t.Errorf("policy status = %+v, want no denials of %s", p, fixed)
		}
		checkWeights(t, ns, "reviews", 70, 30)
	})
}

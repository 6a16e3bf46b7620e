package faults

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
)

// TestControllerFaults kills the controller: mid-apply, and as the leader
// of two replicas.
func TestControllerFaults(t *testing.T) {
	t.Parallel()

	t.Run("a controller killed mid-apply is replaced by one that converges, with an exact inventory and nothing left from a commit abandoned meanwhile", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 40)
		cache := t.TempDir()
		a := startController(t, "a", ns, cache)
		obj := repo.follow(t, repo.srv.URL, c1, nil)

		// Round 1: killed while applying c2, which changes every service,
		// adds five and drops five; a new controller finishes the job.
		c2, s2, killed := killMidApply(t, a, obj, repo, func(try int) state {
			return state{services: append(serviceNames(fmt.Sprintf("new%d", try), 5), repo.first.services[:35]...), v2: 30 + try}
		})
		want2 := repo.rendered(t, c2)
		b := startController(t, "b", ns, cache)
		waitReady(t, obj, c2, 90*time.Second)
		t.Logf("converged %s after the kill (a new controller started at once)", time.Since(killed).Round(time.Millisecond))
		checkConverged(t, obj, c2, want2)

		// Round 2: killed while applying c3, which adds five more; c3 is
		// then abandoned for c4 before a controller runs again. What c3
		// created must be pruned: it is in no commit any more.
		_, _, killed = killMidApply(t, b, obj, repo, func(try int) state {
			return state{services: append(serviceNames(fmt.Sprintf("late%d", try), 5), s2.services...), v2: 50 + try}
		})
		c4 := repo.commit(state{services: s2.services, v2: 60})
		startController(t, "c", ns, cache)
		waitReady(t, obj, c4, 90*time.Second)
		t.Logf("converged on %.8s %s after the kill", c4, time.Since(killed).Round(time.Millisecond))
		checkConverged(t, obj, c4, repo.rendered(t, c4))
	})

	t.Run("when the leader of two replicas is killed the other takes the lease and applies the next commit, and the two never reconcile at once", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 30)
		// Shorter lease timings than the defaults (15s, 10s, 2s), as an
		// operator would set them for a faster failover.
		flags := []string{"--leader-elect", "--leader-election-namespace", ns,
			"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s"}
		a := startController(t, "a", ns, t.TempDir(), flags...)
		a.waitLine(t, 60*time.Second, "msg", "Successfully acquired lease")
		holderA, duration := leaseHolder(t, ns)
		if duration != 6*time.Second {
			t.Errorf("the Lease says a duration of %s, want the 6s of --leader-elect-lease-duration", duration)
		}
		b := startController(t, "b", ns, t.TempDir(), flags...)
		b.waitLine(t, 60*time.Second, "msg", "~Attempting to acquire leader lease")

		obj := repo.follow(t, repo.srv.URL, c1, nil)
		if n := len(a.lines("msg", "applied")); n != 1 {
			t.Errorf("leader a logged %d applies of %.8s, want 1", n, c1)
		}
		if ls := b.lines("msg", "~Starting workers"); len(ls) > 0 {
			t.Fatalf("replica b started its workers while a led: %v", ls)
		}

		samples := sampleStatus(t, obj)
		killed := a.kill(t)
		c2 := repo.commit(state{services: serviceNames("svc", 30), v2: 40})
		b.waitLine(t, 60*time.Second, "msg", "Successfully acquired lease")
		took := time.Since(killed)
		// Nobody led meanwhile: status kept saying c1.
		leaderless := samples.between(killed, killed.Add(took))
		checkNeverClaimed(t, leaderless, revision(c1))
		for _, sm := range leaderless {
			if sm.ready.Reason != v1alpha1.ReasonSynced {
				t.Errorf("status changed while no replica led: %s", sm)
			}
		}
		waitReady(t, obj, c2, 60*time.Second)
		t.Logf("replica b took the lease %s after the leader was killed and applied %.8s %s after the kill", took.Round(time.Millisecond), c2, time.Since(killed).Round(time.Millisecond))
		checkConverged(t, obj, c2, repo.rendered(t, c2))

		if holderB, _ := leaseHolder(t, ns); holderB == holderA || holderB == "" {
			t.Errorf("lease holder after the failover is %q, before %q", holderB, holderA)
		}
		// b never reconciled before a was gone.
		for _, l := range b.lines("msg", "~Starting workers") {
			if at := logTime(l); at.Before(killed) {
				t.Errorf("replica b started workers at %s, before the leader was killed at %s", at.Format(time.StampMilli), killed.Format(time.StampMilli))
			}
		}
		// Every VirtualService of c2 was written by meshintent after a died.
		for id, u := range liveObjects(t, ns) {
			if u.GetKind() != "VirtualService" {
				continue
			}
			for _, f := range u.GetManagedFields() {
				if f.Manager == "meshintent" && f.Time != nil && f.Time.Time.Before(killed.Truncate(time.Second)) {
					t.Errorf("%s was last written by meshintent at %s, before the leader was killed at %s", id, f.Time, killed.Format(time.StampMilli))
				}
			}
		}
		if n := len(b.lines("msg", "applied", "revision", revision(c2))); n != 1 {
			t.Errorf("replica b logged %d applies of %.8s, want 1", n, c2)
		}
		if n := len(b.lines("msg", "applied", "revision", revision(c1))); n != 0 {
			t.Errorf("replica b re-applied %.8s, which a had applied", c1)
		}
	})
}

// killMidApply commits next(0) and SIGKILLs r as soon as the apply has
// created the first of the new services (named first alphabetically, so
// applied first), and returns the commit, its state and when r died. Should
// the apply have finished before the kill, it starts another replica on
// r's cache, lets it apply that commit and tries again with next(1), then
// next(2).
func killMidApply(t *testing.T, r *replica, obj *v1alpha1.IntentSync, repo *intentRepo, next func(try int) state) (string, state, time.Time) {
	t.Helper()
	for try := 0; ; try++ {
		s := next(try)
		first := slices.Min(s.services)
		created := watchCreated(t, obj.Namespace, first)
		sha := repo.commit(s)
		waitCreated(t, created, "DestinationRule "+first+" of "+sha[:8], 60*time.Second)
		killed := r.kill(t)
		got, err := getSync(obj)
		if err != nil {
			t.Fatal(err)
		}
		want := repo.rendered(t, sha)
		if got.Status.LastAppliedRevision != revision(sha) {
			t.Logf("killed controller %s mid-apply: %d of the %d objects of %.8s were live as rendered", r.name, matching(t, obj.Namespace, want), len(want), sha)
			return sha, s, killed
		}
		if try == 2 {
			t.Fatalf("the apply had finished before the kill %d times; the test cannot kill mid-apply on this machine", try+1)
		}
		t.Logf("the apply of %.8s finished before the kill; trying again", sha)
		r = startController(t, r.name+"'", obj.Namespace, r.cacheDir)
		waitReady(t, obj, sha, 90*time.Second)
	}
}

// leaseHolder returns the holder of the controller's leader election Lease
// in ns and the lease duration it records.
func leaseHolder(t *testing.T, ns string) (holder string, duration time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := &coordinationv1.Lease{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controller.DefaultLeaderElectionID}, l); err != nil {
		t.Fatalf("reading the leader election Lease: %v", err)
	}
	if l.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	if l.Spec.HolderIdentity == nil {
		return "", duration
	}
	return *l.Spec.HolderIdentity, duration
}

// logTime is when a controller logged l (zap's "ts" in RFC 3339 with
// nanoseconds); the zero time when it cannot tell.
func logTime(l logLine) time.Time {
	ts, _ := time.Parse(time.RFC3339Nano, l.str("ts"))
	return ts
}

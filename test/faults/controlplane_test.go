package faults

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestControlPlaneFaults restarts kube-apiserver and etcd under a running
// controller, each while it applies a commit. The subtests do not run in
// parallel with anything: every test of the package shares the control
// plane.
func TestControlPlaneFaults(t *testing.T) {
	t.Run("kube-apiserver stopped mid-apply and started again: the controller retries and converges on the commit", func(t *testing.T) {
		restartMidApply(t, "kube-apiserver", cp.StopAPIServer, cp.StartAPIServer)
	})
	t.Run("etcd stopped mid-apply and started again on its data: the controller converges on the commit", func(t *testing.T) {
		restartMidApply(t, "etcd", cp.StopEtcd, cp.StartEtcd)
	})
}

// restartMidApply applies a first commit, then stops a control plane
// process as soon as the apply of a second commit (which changes every
// service, adds five and drops five) has created its first object, keeps it
// down for a few seconds, starts it again and checks that the controller
// converges on the second commit by itself.
func restartMidApply(t *testing.T, what string, stop, start func(*testing.T)) {
	ns := newNamespace(t)
	base := serviceNames("svc", 40)
	repo, c1 := newIntentRepo(t, ns, state{services: base, v2: 10})
	a := startController(t, "a", ns, t.TempDir())
	obj := newIntentSync(t, ns, repo.srv.URL, nil)
	waitReady(t, obj, c1, 90*time.Second)
	checkConverged(t, obj, c1, repo.rendered(t, c1))
	samples := sampleStatus(t, obj)

	created := watchCreated(t, ns, "new-00")
	c2 := repo.commit(state{services: append(serviceNames("new", 5), base[:35]...), v2: 30})
	waitCreated(t, created, "DestinationRule new-00 of "+c2[:8], 60*time.Second)
	down := time.Now()
	stop(t)
	stopped := time.Now()
	time.Sleep(3 * time.Second)
	restarting := time.Now()
	start(t)
	up := time.Now()
	waitReady(t, obj, c2, 120*time.Second)
	t.Logf("%s took %s to stop, was restarted %s after the stop began and was ready %s later; the controller converged %s after that",
		what, stopped.Sub(down).Round(time.Millisecond), restarting.Sub(down).Round(time.Millisecond),
		up.Sub(restarting).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	checkConverged(t, obj, c2, repo.rendered(t, c2))

	// On a busy machine the apply may just have finished before the stop.
	if ls := a.lines("msg", "applied", "revision", revision(c2)); len(ls) > 0 && logTime(ls[0]).Before(down) {
		t.Logf("the apply of %.8s finished before %s stopped: only convergence was checked", c2, what)
		return
	}

	// Status cannot be written while the API server cannot store it; it
	// must not have claimed c2 before the cluster held it, and the
	// controller must have said why it was not done. The fault ends when
	// the process is started again: the controller may converge before the
	// readiness probe above notices.
	during := samples.between(down, restarting)
	checkNeverClaimed(t, during, revision(c1))
	logSamples(t, "while "+what+" was down", during)
	var failures []string
	for _, l := range a.lines("msg", "reconcile failed") {
		failures = append(failures, l.str("reason")+": "+firstLine(l.str("error"))) // of joined per-object errors
	}
	t.Logf("failed attempts the controller logged: %d%s", len(failures), firstLines(failures, 3))
	if what == "kube-apiserver" && !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, "connection refused") }) {
		t.Errorf("the controller never reported the apply cut short by the refused connections")
	}
	for _, f := range failures {
		if !strings.HasPrefix(f, "ApplyFailed: ") {
			t.Errorf("failed attempt %q, want ApplyFailed", f)
		}
	}
}

// firstLines formats up to n of lines, one per line.
func firstLines(lines []string, n int) string {
	var b strings.Builder
	for i, l := range lines {
		if i == n {
			b.WriteString("\n  …")
			break
		}
		b.WriteString("\n  " + l)
	}
	return b.String()
}

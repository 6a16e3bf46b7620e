package faults

import (
	"context"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestControlPlaneFaults restarts kube-apiserver and etcd under a running
// controller, each while it applies a commit. The subtests do not run in
// parallel with anything: every test of the package shares the control
// plane.
func TestControlPlaneFaults(t *testing.T) {
	t.Run("kube-apiserver stopped mid-apply and started again: the controller retries and converges on the commit", func(t *testing.T) {
		restartMidApply(t, "kube-apiserver", env.StopAPIServer, env.StartAPIServer)
	})
	t.Run("etcd stopped mid-apply and started again on its data: the controller converges on the commit", func(t *testing.T) {
		restartMidApply(t, "etcd", env.StopEtcd, env.StartEtcd)
	})
}

// restartMidApply applies a first commit, then holds the apply of a second
// commit (which changes every service, adds five and drops five) at a known
// point: the controller reaches the API server through a proxy that lets
// the first write of the commit through and holds every later one. With the
// writes held, it stops a control plane process, releases them (they meet
// the fault), keeps the process down for a few seconds, starts it again and
// checks that the controller converges on the second commit by itself. The
// hold makes the fault land mid-apply on every run, however fast the
// machine: the test fails, rather than checking less, if it did not.
func restartMidApply(t *testing.T, what string, stop, start func(context.Context) error) {
	ns := env.Namespace(t)
	base := serviceNames("svc", 40)
	repo, c1 := newIntentRepo(t, ns, state{services: base, v2: 10})
	proxy := newAPIProxy(t)
	a := startController(t, "a", ns, t.TempDir(), "--kubeconfig", proxy.kubeconfig)
	obj := repo.follow(t, repo.srv.URL, c1, nil)
	samples := sampleStatus(t, obj)

	// Hold the apply's writes (server-side apply patches of the mesh
	// objects in ns, not dry-runs, not status) after the first.
	var writes atomic.Int64
	held, heldCount, release := proxy.hold(t, func(r *http.Request) bool {
		isWrite := r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") == "" &&
			strings.Contains(r.URL.Path, "/namespaces/"+ns+"/") &&
			(strings.HasSuffix(path.Dir(r.URL.Path), "/virtualservices") || strings.HasSuffix(path.Dir(r.URL.Path), "/destinationrules"))
		return isWrite && writes.Add(1) > 1
	})
	c2 := repo.commit(state{services: append(serviceNames("new", 5), base[:35]...), v2: 30})
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		t.Fatalf("the apply of %.8s wrote nothing the proxy could hold within 60s", c2)
	}
	// Let the writes in flight reach the proxy: the apply is cut between
	// its first write and the rest.
	time.Sleep(200 * time.Millisecond)
	live := matching(t, ns, repo.rendered(t, c2))
	down := time.Now()
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	release()
	time.Sleep(3 * time.Second)
	restarting := time.Now()
	// Started again, it must be ready (etcd included) within a minute.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := start(ctx); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	waitReady(t, obj, c2, 120*time.Second)
	t.Logf("%d writes of %.8s were held when %s was stopped (%d of its %d objects were live as rendered); "+
		"%s took %s to stop, was restarted %s after the stop began and was ready %s later; the controller converged %s after that",
		heldCount(), c2, what, live, len(repo.rendered(t, c2)),
		what, stopped.Sub(down).Round(time.Millisecond), restarting.Sub(down).Round(time.Millisecond),
		up.Sub(restarting).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	checkConverged(t, obj, c2, repo.rendered(t, c2))

	// The fault landed mid-apply: the first write went through, later ones
	// were held, and the apply of c2 finished only after the fault began.
	if n := writes.Load(); n < 2 {
		t.Errorf("the proxy saw %d writes of the apply before the fault, want the first and a held one", n)
	}
	applied := a.lines("msg", "applied", "revision", revision(c2))
	if len(applied) == 0 {
		t.Errorf("the controller never logged the apply of %.8s", c2)
	} else if at := logTime(applied[0]); at.Before(down) {
		t.Errorf("the apply of %.8s finished at %s, before %s was stopped at %s: the fault did not land mid-apply",
			c2, at.Format(time.StampMilli), what, down.Format(time.StampMilli))
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

// firstLines formats up to n of lines, one per line, and an ellipsis for
// those left out.
func firstLines(lines []string, n int) string {
	if len(lines) == 0 {
		return ""
	}
	more := ""
	if len(lines) > n {
		lines, more = lines[:n], "\n  …"
	}
	return "\n  " + strings.Join(lines, "\n  ") + more
}

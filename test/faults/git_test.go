package faults

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// TestGitFaults breaks the Git side: the server, its speed, the branch's
// history and the controller's cache of it.
func TestGitFaults(t *testing.T) {
	t.Parallel()

	t.Run("an unreachable Git server is reported as FetchFailed, the cluster keeps the last commit, and a server back up is picked up by itself", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 30)
		startController(t, "a", ns, t.TempDir())
		obj := repo.follow(t, repo.srv.URL, c1, nil)
		want1 := repo.rendered(t, c1)
		samples := sampleStatus(t, obj)

		// The server goes away; a commit lands meanwhile.
		down := time.Now()
		repo.srv.Stop()
		c2 := repo.commit(state{services: serviceNames("svc", 30), v2: 20})
		waitReason(t, obj, v1alpha1.ReasonFetchFailed, 30*time.Second, "connection refused")
		time.Sleep(3 * time.Second) // a few more failed polls
		checkKept(t, obj, c1, want1)

		up := time.Now()
		repo.srv.Start()
		checkRecovered(t, obj, repo, samples, c1, c2, fault{"the Git server was down", down, up})
	})

	t.Run("a Git server slower than spec.source.timeout is reported as a timed-out fetch, the cluster keeps the last commit, and a fast server is picked up by itself", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 30)
		proxy := newSlowProxy(t, repo.srv.URL)
		startController(t, "a", ns, t.TempDir())
		obj := repo.follow(t, proxy.URL, c1, func(s *v1alpha1.IntentSyncSpec) {
			s.Source.Timeout = &metav1.Duration{Duration: 2 * time.Second}
		})
		want1 := repo.rendered(t, c1)
		samples := sampleStatus(t, obj)

		slow := time.Now()
		proxy.delay.Store(int64(5 * time.Second))
		c2 := repo.commit(state{services: serviceNames("svc", 30), v2: 20})
		waitReason(t, obj, v1alpha1.ReasonFetchFailed, 30*time.Second, "timed out after 2s")
		checkKept(t, obj, c1, want1)

		fast := time.Now()
		proxy.delay.Store(0)
		checkRecovered(t, obj, repo, samples, c1, c2, fault{"the Git server was slow", slow, fast})
	})

	t.Run("a force-push that rewrites the branch is applied, objects only in the dropped commits are pruned, and no error loop follows", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 30)
		a := startController(t, "a", ns, t.TempDir())
		obj := repo.follow(t, repo.srv.URL, c1, nil)
		c2 := repo.commit(state{services: append(serviceNames("dropped", 3), repo.first.services...), v2: 20})
		waitReady(t, obj, c2, 60*time.Second)
		checkConverged(t, obj, c2, repo.rendered(t, c2))

		// History rewritten: main goes back to c1 and on to c3; c2 is in
		// no branch any more.
		repo.Git("reset", "-q", "--hard", c1)
		pushed := time.Now()
		c3 := repo.commit(state{services: append(serviceNames("kept", 3), repo.first.services...), v2: 30})
		if out, err := exec.Command("git", "-C", repo.Dir, "merge-base", "--is-ancestor", c2, c3).CombinedOutput(); err == nil {
			t.Fatalf("%.8s is an ancestor of %.8s: the history was not rewritten (%s)", c2, c3, out)
		}
		waitReady(t, obj, c3, 60*time.Second)
		t.Logf("applied the rewritten branch %s after the force-push", time.Since(pushed).Round(time.Millisecond))
		checkConverged(t, obj, c3, repo.rendered(t, c3))

		// Three more polls: still Ready at c3, nothing failed or re-applied.
		settled := time.Now()
		samples := sampleStatus(t, obj)
		time.Sleep(3 * intervalOf(obj))
		for _, sm := range samples.between(settled, time.Now()) {
			if sm.err != "" || sm.ready.Status != metav1.ConditionTrue || sm.lastApplied != revision(c3) {
				t.Errorf("after the force-push: %s", sm)
			}
		}
		if ls := a.lines("msg", "reconcile failed"); len(ls) > 0 {
			t.Errorf("the controller logged %d failed attempts, first: %s: %s", len(ls), ls[0].str("reason"), ls[0].str("error"))
		}
		if n := len(a.lines("msg", "applied", "revision", revision(c3))); n != 1 {
			t.Errorf("the controller logged %d applies of %.8s, want 1", n, c3)
		}
	})

	t.Run("a cache corrupted and then deleted under a running controller is re-cloned by the next fetch, with no failed attempt and no object applied twice", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 30)
		cache := t.TempDir()
		a := startController(t, "a", ns, cache)
		obj := repo.follow(t, repo.srv.URL, c1, nil)

		// Garbage over every pack, index and loose object; then a commit
		// that adds one service, so the next fetch needs the repository.
		if n := corrupt(t, cache); n == 0 {
			t.Fatalf("no Git objects under %s to corrupt", cache)
		}
		before := resourceVersions(t, ns)
		pushed := time.Now()
		c2 := repo.commit(state{services: append(serviceNames("added", 1), repo.first.services...), v2: 10})
		waitReady(t, obj, c2, 60*time.Second)
		t.Logf("applied %.8s %s after the commit, through a corrupted cache", c2, time.Since(pushed).Round(time.Millisecond))
		checkConverged(t, obj, c2, repo.rendered(t, c2))
		checkUntouched(t, ns, before)
		if n := garbageFiles(t, cache); n > 0 {
			t.Errorf("%d corrupted files are still in the cache: it was not cloned again", n)
		}

		// The whole cache deleted: the next poll (same commit) re-clones
		// without applying again, and the next commit is applied.
		if err := os.RemoveAll(cache); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			if m, _ := filepath.Glob(filepath.Join(cache, "*", "trees", c2)); len(m) == 0 {
				return errors.New("the cache holds no tree of " + c2[:8] + " yet")
			}
			return nil
		})
		before = resourceVersions(t, ns)
		pushed = time.Now()
		c3 := repo.commit(state{services: append(serviceNames("added", 2), repo.first.services...), v2: 10})
		waitReady(t, obj, c3, 60*time.Second)
		t.Logf("applied %.8s %s after the commit, from a deleted cache", c3, time.Since(pushed).Round(time.Millisecond))
		checkConverged(t, obj, c3, repo.rendered(t, c3))
		checkUntouched(t, ns, before)

		if ls := a.lines("msg", "reconcile failed"); len(ls) > 0 {
			t.Errorf("the controller logged %d failed attempts, first: %s: %s", len(ls), ls[0].str("reason"), ls[0].str("error"))
		}
		for _, c := range []string{c1, c2, c3} {
			if n := len(a.lines("msg", "applied", "revision", revision(c))); n != 1 {
				t.Errorf("the controller logged %d applies of %.8s, want 1", n, c)
			}
		}
	})
}

// intervalOf is the IntentSync's poll interval.
func intervalOf(obj *v1alpha1.IntentSync) time.Duration { return obj.Spec.Interval.Duration }

// garbage is what corrupt writes.
var garbage = []byte("garbage!")

// corrupt overwrites every file under the Git objects directories of the
// cache (packs, their indexes, loose objects) with garbage of about the
// same size and returns how many it overwrote.
func corrupt(t *testing.T, cache string) int {
	t.Helper()
	return walkObjects(t, cache, func(path string, size int64) bool {
		b := bytes.Repeat(garbage, int(size)/len(garbage)+1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	})
}

// garbageFiles counts the files under the Git objects directories of the
// cache that corrupt wrote.
func garbageFiles(t *testing.T, cache string) int {
	t.Helper()
	return walkObjects(t, cache, func(path string, _ int64) bool {
		b, err := os.ReadFile(path)
		return err == nil && bytes.HasPrefix(b, garbage)
	})
}

// walkObjects calls f for every file under <cache>/*/git/objects and
// counts the calls that returned true.
func walkObjects(t *testing.T, cache string, f func(path string, size int64) bool) int {
	t.Helper()
	n := 0
	dirs, _ := filepath.Glob(filepath.Join(cache, "*", "git", "objects"))
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if f(path, fi.Size()) {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", dir, err)
		}
	}
	return n
}

// checkUntouched fails the test for every object of before whose
// resourceVersion moved: an object that did not change must not be
// written again.
func checkUntouched(t *testing.T, ns string, before map[string]string) {
	t.Helper()
	after := resourceVersions(t, ns)
	for id, rv := range before {
		if after[id] != rv {
			t.Errorf("%s was written again (resourceVersion %s → %s) though it did not change", id, rv, after[id])
		}
	}
}

// slowProxy forwards to a Git server, first waiting delay (or until the
// client gives up) on every request.
type slowProxy struct {
	// URL is the repository's URL through the proxy.
	URL   string
	delay atomic.Int64
}

// newSlowProxy proxies the repository at repoURL (a gitfixture URL).
func newSlowProxy(t *testing.T, repoURL string) *slowProxy {
	t.Helper()
	target, err := url.Parse(repoURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(p.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + l.Addr().String() + "/" + strings.TrimPrefix(filepath.ToSlash(target.Path), "/")
	return p
}

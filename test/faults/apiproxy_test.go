package faults

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/testenv"
)

// TestAPIServerDroppingRequests puts a proxy between the controller and
// the API server that drops some requests while status writes go through,
// so the status written during the fault can be checked.
func TestAPIServerDroppingRequests(t *testing.T) {
	t.Parallel()

	t.Run("dry-runs dropped by the API server are a transient ApplyFailed naming the dropped connection, not a stalled revision, and the commit is applied once they pass", func(t *testing.T) {
		ns, repo, c1 := newScene(t, 20)
		proxy := newAPIProxy(t)
		startController(t, "a", ns, t.TempDir(), "--kubeconfig", proxy.kubeconfig)
		obj := repo.follow(t, repo.srv.URL, c1, nil)
		want1 := repo.rendered(t, c1)

		// Every server-side dry-run is cut off: connection closed, no answer.
		proxy.drop(func(r *http.Request) bool { return r.URL.Query().Get("dryRun") == "All" })
		dropping := time.Now()
		c2 := repo.commit(state{services: serviceNames("svc", 20), v2: 30})
		got := waitFailed(t, obj, 60*time.Second)
		checkKept(t, obj, c1, want1)
		ready, stalled := condition(got, v1alpha1.ConditionReady), condition(got, v1alpha1.ConditionStalled)
		t.Logf("status while dry-runs were dropped: Ready=%s %s %q, Stalled=%s %s", ready.Status, ready.Reason, firstLine(ready.Message), stalled.Status, stalled.Reason)

		proxy.drop(nil)
		passing := time.Now()
		waitReady(t, obj, c2, 90*time.Second)
		t.Logf("recovered %s after the API server answered dry-runs again (dropped for %s)", time.Since(passing).Round(time.Millisecond), passing.Sub(dropping).Round(time.Millisecond))
		checkConverged(t, obj, c2, repo.rendered(t, c2))

		if ready.Reason != v1alpha1.ReasonApplyFailed || !strings.Contains(ready.Message, "EOF") {
			t.Errorf("Ready while dry-runs were dropped: %s %q, want ApplyFailed naming the closed connection (EOF)", ready.Reason, ready.Message)
		}
		if stalled.Status == metav1.ConditionTrue {
			t.Errorf("Stalled while dry-runs were dropped: %s %q, want absent", stalled.Reason, stalled.Message)
		}
	})
}

// waitFailed waits until Ready is False, for any reason.
func waitFailed(t *testing.T, obj *v1alpha1.IntentSync, timeout time.Duration) *v1alpha1.IntentSync {
	t.Helper()
	return env.WaitIntentSync(t, obj, timeout, testenv.NotReady(""))
}

// apiProxy serves the API server over plain HTTP on 127.0.0.1, forwarding
// every request as the administrator, and closes the connection of the
// requests its drop rule matches without answering. Requests its hold rule
// matches wait, unforwarded, until released: a test stops the client at a
// known point of its work whatever the machine's speed.
type apiProxy struct {
	// kubeconfig reaches the API server through the proxy.
	kubeconfig string
	rule       atomic.Pointer[func(*http.Request) bool]
	holding    atomic.Pointer[holdRule]
}

// holdRule is a hold in force: requests matching match wait for release.
type holdRule struct {
	match    func(*http.Request) bool
	held     chan struct{} // closed when the first request is held
	heldOnce sync.Once
	count    atomic.Int64 // requests held so far
	release  chan struct{}
}

// newAPIProxy starts a proxy to cp's API server; it stops when the test ends.
func newAPIProxy(t *testing.T) *apiProxy {
	t.Helper()
	tr, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.FlushInterval = -1 // watches stream
	// The API server's unavailability is answered with its cause (e.g.
	// "connection refused"), as a client talking to it directly would see.
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	p := &apiProxy{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule := p.rule.Load(); rule != nil && (*rule)(r) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
				return
			}
			http.Error(w, "dropped", http.StatusServiceUnavailable)
			return
		}
		if h := p.holding.Load(); h != nil && h.match(r) {
			h.count.Add(1)
			h.heldOnce.Do(func() { close(h.held) })
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	kc := clientcmdapi.NewConfig()
	kc.Clusters["proxy"] = &clientcmdapi.Cluster{Server: "http://" + l.Addr().String()}
	kc.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	kc.CurrentContext = "proxy"
	p.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return p
}

// drop sets the rule of the requests to drop; nil drops none.
func (p *apiProxy) drop(rule func(*http.Request) bool) {
	if rule == nil {
		p.rule.Store(nil)
		return
	}
	p.rule.Store(&rule)
}

// hold makes the requests match selects wait until release is called
// (which also lifts the hold; the test's end calls it too). held is
// closed when the first request is held; count tells how many were.
func (p *apiProxy) hold(t *testing.T, match func(*http.Request) bool) (held <-chan struct{}, count func() int64, release func()) {
	t.Helper()
	h := &holdRule{match: match, held: make(chan struct{}), release: make(chan struct{})}
	p.holding.Store(h)
	var once sync.Once
	release = func() {
		once.Do(func() {
			p.holding.CompareAndSwap(h, nil)
			close(h.release)
		})
	}
	t.Cleanup(release)
	return h.held, h.count.Load, release
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

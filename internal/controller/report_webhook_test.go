package controller

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/report"
)

// fastDelivery retries quickly, for tests.
var fastDelivery = deliveryOptions{attempts: 3, timeout: 2 * time.Second, backoff: 10 * time.Millisecond, maxBackoff: 40 * time.Millisecond}

// receiver is a webhook that answers with the given status codes in turn
// (the last one from then on) and records what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	codes  []int
	bodies []string
	// delay is slept before each answer.
	delay time.Duration
	// inFlight and maxInFlight count concurrent requests.
	inFlight, maxInFlight atomic.Int32
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	t.Helper()
	r := &receiver{codes: codes}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		for {
			m := r.maxInFlight.Load()
			if n <= m || r.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, req.Header.Get("Content-Type")+" "+string(b))
		code := r.codes[min(len(r.bodies), len(r.codes))-1]
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(code)
	}))
	t.Cleanup(r.Close)
	return r
}

// received returns the requests so far as "content-type body".
func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func TestPostWebhook(t *testing.T) {
	client := newReportScheduler(&IntentSyncReconciler{now: time.Now}, nil, testLogger(t)).http
	body := []byte(`{"text":"hi"}`)

	t.Run("a receiver failing twice then succeeding gets three attempts", func(t *testing.T) {
		r := newReceiver(t, 503, 500, 200)
		if err := postWebhook(t.Context(), client, r.URL+"/services/T0/B0/secret", body, fastDelivery); err != nil {
			t.Fatalf("postWebhook: %v", err)
		}
		want := []string{"application/json " + string(body), "application/json " + string(body), "application/json " + string(body)}
		if diff := cmp.Diff(want, r.received()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("a receiver that keeps failing fails after every attempt without naming the URL", func(t *testing.T) {
		r := newReceiver(t, 500)
		err := postWebhook(t.Context(), client, r.URL+"/services/T0/B0/secret", body, fastDelivery)
		if err == nil {
			t.Fatal("no error")
		}
		if want := "attempt 3 of 3: the webhook answered 500 Internal Server Error"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if n := len(r.received()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})

	t.Run("a client error is not retried", func(t *testing.T) {
		r := newReceiver(t, 404)
		err := postWebhook(t.Context(), client, r.URL+"/hook", body, fastDelivery)
		if err == nil || !strings.Contains(err.Error(), "attempt 1 of 3: the webhook answered 404") {
			t.Errorf("error = %v, want a 404 on the first attempt", err)
		}
		if n := len(r.received()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})

	t.Run("a slow receiver times out each attempt", func(t *testing.T) {
		r := newReceiver(t, 200)
		r.delay = 300 * time.Millisecond
		o := fastDelivery
		o.timeout = 50 * time.Millisecond
		err := postWebhook(t.Context(), client, r.URL+"/hook", body, o)
		if err == nil || err.Error() != "attempt 3 of 3: no answer within 50ms" {
			t.Errorf("error = %v, want a timeout on the third attempt", err)
		}
	})

	t.Run("a receiver that is down fails without its address in the error", func(t *testing.T) {
		r := newReceiver(t, 200)
		url := r.URL + "/services/T0/B0/secret"
		r.Close()
		err := postWebhook(t.Context(), client, url, body, fastDelivery)
		if err == nil {
			t.Fatal("no error")
		}
		host := strings.TrimPrefix(r.URL, "http://")
		if strings.Contains(err.Error(), host) || strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q names the URL", err)
		}
		if !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %q does not say what happened", err)
		}
	})

	t.Run("a redirect is not followed", func(t *testing.T) {
		r := newReceiver(t, http.StatusFound)
		err := postWebhook(t.Context(), client, r.URL+"/hook", body, fastDelivery)
		if err == nil || !strings.Contains(err.Error(), "answered 302 Found") {
			t.Errorf("error = %v, want the 302 as the answer", err)
		}
	})

	t.Run("a URL that is not http(s) is refused without echoing it", func(t *testing.T) {
		err := postWebhook(t.Context(), client, "ftp://user:pw@example.com/x", body, fastDelivery)
		if err == nil || err.Error() != "the webhook URL is not an http(s) URL" {
			t.Errorf("error = %v", err)
		}
	})
}

// TestDeliverReadsTheSecretOrSaysHowToGrantIt delivers a report with a
// real API server: as a ServiceAccount that may not read the Secret, the
// error names the RoleBinding that grants it (and never the URL); as one
// that may, the report arrives.
func TestDeliverReadsTheSecretOrSaysHowToGrantIt(t *testing.T) {
	ctx := t.Context()
	ns := env.Namespace(t)
	hook := newReceiver(t, http.StatusOK)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "slack", Namespace: ns},
		Data:       map[string][]byte{WebhookURLKey: []byte(hook.URL + "/hooks/T000/B000/XXXX")},
	}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	obj := &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Name: "mesh", Namespace: ns}}
	impersonated := func(t *testing.T) client.Client {
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":meshintent-controller"}
		c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name      string
		client    func(*testing.T) client.Client
		wantErr   string
		delivered int
	}{
		{"a controller that may not read the Secret is told which RoleBinding grants it", impersonated,
			"reading the Secret: secrets \"slack\" is forbidden", 0},
		{"a controller that may read the Secret delivers", func(*testing.T) client.Client { return env.Client }, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(hook.received())
			s := &reportScheduler{r: &IntentSyncReconciler{Client: tc.client(t)}, http: hook.Client(), delivery: fastDelivery}
			err := s.deliver(ctx, obj, "slack", &report.Report{})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("deliver: %v", err)
			case tc.wantErr != "":
				hint := "bind ClusterRole " + SecretReaderClusterRole + " to its ServiceAccount with a RoleBinding in namespace " + ns
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), hint) {
					t.Fatalf("error %v, want %q and %q", err, tc.wantErr, hint)
				}
				if strings.Contains(err.Error(), hook.URL) || strings.Contains(err.Error(), "XXXX") {
					t.Errorf("error shows the webhook URL: %v", err)
				}
			}
			if got := len(hook.received()) - before; got != tc.delivered {
				t.Errorf("%d reports delivered, want %d", got, tc.delivered)
			}
		})
	}
}

package controller

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
		if err := postWebhook(context.Background(), client, r.URL+"/services/T0/B0/secret", body, fastDelivery); err != nil {
			t.Fatalf("postWebhook: %v", err)
		}
		want := []string{"application/json " + string(body), "application/json " + string(body), "application/json " + string(body)}
		if diff := cmp.Diff(want, r.received()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("a receiver that keeps failing fails after every attempt without naming the URL", func(t *testing.T) {
		r := newReceiver(t, 500)
		err := postWebhook(context.Background(), client, r.URL+"/services/T0/B0/secret", body, fastDelivery)
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
		err := postWebhook(context.Background(), client, r.URL+"/hook", body, fastDelivery)
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
		err := postWebhook(context.Background(), client, r.URL+"/hook", body, o)
		if err == nil || err.Error() != "attempt 3 of 3: no answer within 50ms" {
			t.Errorf("error = %v, want a timeout on the third attempt", err)
		}
	})

	t.Run("a receiver that is down fails without its address in the error", func(t *testing.T) {
		r := newReceiver(t, 200)
		url := r.URL + "/services/T0/B0/secret"
		r.Close()
		err := postWebhook(context.Background(), client, url, body, fastDelivery)
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
		err := postWebhook(context.Background(), client, r.URL+"/hook", body, fastDelivery)
		if err == nil || !strings.Contains(err.Error(), "answered 302 Found") {
			t.Errorf("error = %v, want the 302 as the answer", err)
		}
	})

	t.Run("a URL that is not http(s) is refused without echoing it", func(t *testing.T) {
		err := postWebhook(context.Background(), client, "ftp://user:pw@example.com/x", body, fastDelivery)
		if err == nil || err.Error() != "the webhook URL is not an http(s) URL" {
			t.Errorf("error = %v", err)
		}
	})
}

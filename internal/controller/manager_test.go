package controller

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/apply"
)

// holdApplies lets through the first n real (not dry-run) apply requests
// for Istio objects and holds every later one until its request is
// cancelled; started is closed when the hold begins and the first n have
// been answered (applies run in parallel: a later one may start first).
type holdApplies struct {
	next     http.RoundTripper
	n        int64
	applied  atomic.Int64
	answered atomic.Int64
	passed   chan struct{} // closed when the first n are answered
	started  chan struct{}
	once     func()
}

func (h *holdApplies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPatch && strings.Contains(req.URL.Path, ".istio.io/") && req.URL.Query().Get("dryRun") == "" {
		if h.applied.Add(1) > h.n {
			select {
			case <-h.passed:
				h.once()
			case <-req.Context().Done():
			}
			<-req.Context().Done()
			return nil, req.Context().Err()
		}
		resp, err := h.next.RoundTrip(req)
		if h.answered.Add(1) == h.n {
			close(h.passed)
		}
		return resp, err
	}
	return h.next.RoundTrip(req)
}

// names lists the names of the objects of gvk in ns.
func names(t *testing.T, gvk schema.GroupVersionKind, ns string) []string {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := env.Client.List(t.Context(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range list.Items {
		if u.GetLabels()[SyncNameLabel] != "mesh" {
			t.Errorf("%s %s/%s lacks the sync labels: %v", gvk.Kind, ns, u.GetName(), u.GetLabels())
		}
		out = append(out, u.GetName())
	}
	slices.Sort(out)
	return out
}

func TestRestartMidApplyConverges(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	const services = 40
	files := map[string]string{}
	var want []string
	for i := range services {
		name := fmt.Sprintf("svc-%02d", i)
		files[name+".yaml"] = serviceIntent(ns, name, 90, 10)
		want = append(want, name)
	}
	repo := newIntentRepo(t, files)
	rev := "main@sha1:" + repo.head

	// The first manager is cancelled after 10 of the 80 objects are applied.
	hold := &holdApplies{n: 10, started: make(chan struct{}), passed: make(chan struct{})}
	var closed atomic.Bool
	hold.once = func() {
		if closed.CompareAndSwap(false, true) {
			close(hold.started)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { hold.next = rt; return hold })
	first := startManager(t, ns, func(o *Options) { o.Config = cfg })
	obj := newIntentSync(t, ns, repo, nil)
	select {
	case <-hold.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the first manager never got 10 objects into its apply")
	}
	first.stop(t)
	partial := len(names(t, vsGVK, ns)) + len(names(t, drGVK, ns))
	t.Logf("the first manager stopped with %d of %d objects applied", partial, 2*services)
	if partial == 0 || partial >= 2*services {
		t.Fatalf("%d of %d objects applied when the first manager stopped, want some but not all", partial, 2*services)
	}

	// A new manager takes over.
	startManager(t, ns, nil)
	got := waitReady(t, obj, rev, 60*time.Second)

	t.Run("every object is present once", func(t *testing.T) {
		if diff := cmp.Diff(want, names(t, vsGVK, ns)); diff != "" {
			t.Errorf("VirtualServices (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, names(t, drGVK, ns)); diff != "" {
			t.Errorf("DestinationRules (-want +got):\n%s", diff)
		}
	})

	t.Run("the inventory lists exactly the applied objects", func(t *testing.T) {
		if got.Status.Inventory == nil || got.Status.Inventory.Total != 2*services {
			t.Errorf("status.inventory = %+v, want %d objects", got.Status.Inventory, 2*services)
		}
		inv, err := apply.NewManager(env.Client, apply.Options{}).ReadInventory(t.Context(), inventoryName(obj))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range inv.Entries {
			ids = append(ids, e.ID())
		}
		var wantIDs []string
		for _, n := range want {
			wantIDs = append(wantIDs, "DestinationRule/"+ns+"/"+n)
		}
		for _, n := range want {
			wantIDs = append(wantIDs, "VirtualService/"+ns+"/"+n)
		}
		if diff := cmp.Diff(wantIDs, ids); diff != "" {
			t.Errorf("inventory entries (-want +got):\n%s", diff)
		}
		if inv.Revision != rev {
			t.Errorf("inventory revision = %q, want %q", inv.Revision, rev)
		}
	})
}

func TestLeaderElection(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	elect := func(o *Options) {
		electing(ns)(o)
		o.WebhookAddr = "127.0.0.1:0"
		o.WebhookSecret = webhookSecret
	}
	a := startManager(t, ns, elect)
	select {
	case <-a.Elected():
	case <-time.After(30 * time.Second):
		t.Fatal("the first manager was not elected")
	}
	b := startManager(t, ns, elect)
	obj := newIntentSync(t, ns, repo, nil) // hourly polls
	waitReady(t, obj, "main@sha1:"+repo.head, 30*time.Second)

	t.Run("only the leader reconciles", func(t *testing.T) {
		if a.syncCount(obj) == 0 {
			t.Error("the leader did not reconcile")
		}
		if n := b.syncCount(obj); n != 0 {
			t.Errorf("the other replica reconciled %d times, want 0", n)
		}
		select {
		case <-b.Elected():
			t.Error("both managers are elected")
		default:
		}
	})

	t.Run("a webhook sent to the other replica reaches the leader", func(t *testing.T) {
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
		code, body := postPush(t, b.WebhookAddr(), webhookSecret, repo.srv.URL, "main", next)
		if code != http.StatusAccepted || body != "triggered 1 IntentSync\n" {
			t.Fatalf("webhook answered %d %q, want 202 triggering 1 IntentSync", code, body)
		}
		waitReady(t, obj, "main@sha1:"+next, 10*time.Second)
		if n := b.syncCount(obj); n != 0 {
			t.Errorf("the other replica reconciled %d times, want 0", n)
		}
	})

	t.Run("when the leader stops the other takes over", func(t *testing.T) {
		a.stop(t)
		select {
		case <-b.Elected():
		case <-time.After(20 * time.Second):
			t.Fatal("the other manager was not elected")
		}
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 20, 80)})
		code, _ := postPush(t, b.WebhookAddr(), webhookSecret, repo.srv.URL, "main", next)
		if code != http.StatusAccepted {
			t.Fatalf("webhook answered %d, want 202", code)
		}
		waitReady(t, obj, "main@sha1:"+next, 10*time.Second)
		if b.syncCount(obj) == 0 {
			t.Error("the new leader did not reconcile")
		}
	})
}

// TestLeaseTimings checks the Lease timings handed to controller-runtime:
// defaults for those left zero, and a clear error for timings client-go's
// leader election would refuse at start.
func TestLeaseTimings(t *testing.T) {
	tests := []struct {
		name                string
		lease, renew, retry time.Duration
		want                [3]time.Duration
		wantErr             string
	}{
		{name: "defaults", want: [3]time.Duration{15 * time.Second, 10 * time.Second, 2 * time.Second}},
		{name: "all set", lease: 4 * time.Second, renew: 3 * time.Second, retry: 500 * time.Millisecond,
			want: [3]time.Duration{4 * time.Second, 3 * time.Second, 500 * time.Millisecond}},
		{name: "only the lease, longer", lease: time.Minute, want: [3]time.Duration{time.Minute, 10 * time.Second, 2 * time.Second}},
		{name: "lease not longer than the renew deadline", lease: 10 * time.Second,
			wantErr: "the lease duration (10s) must be longer than the renew deadline (10s)"},
		{name: "renew deadline within 1.2 retry periods", renew: 2 * time.Second, retry: 2 * time.Second,
			wantErr: "the renew deadline (2s) must be longer than 1.2× the retry period (2s)"},
		{name: "negative", retry: -time.Second, wantErr: "lease timings must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mopts ctrl.Options
			err := Options{LeaseDuration: tt.lease, RenewDeadline: tt.renew, RetryPeriod: tt.retry}.leaseTimings(&mopts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if mopts.LeaseDuration != nil {
					t.Errorf("timings set despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := [3]time.Duration{*mopts.LeaseDuration, *mopts.RenewDeadline, *mopts.RetryPeriod}
			if got != tt.want {
				t.Errorf("lease, renew, retry = %v, want %v", got, tt.want)
			}
		})
	}
}

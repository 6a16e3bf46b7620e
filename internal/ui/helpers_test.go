package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// startServer starts a Server with opts (Config defaults to the
// administrator's), waits for its cache and serves it over HTTP.
func startServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Config == nil {
		opts.Config = env.Config
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := s.WaitForSync(wctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cache: %v", err)
		}
	})
	return s, hs
}

// syncSpec is what newSync needs to make an IntentSync look reconciled.
type syncSpec struct {
	name, url string
	ready     metav1.ConditionStatus
	reason    string
	message   string
	inventory []string
	drift     *v1alpha1.DriftStatus
	policy    *v1alpha1.PolicyStatus
	fetched   string
	applied   string
	cluster   string
	// changed is the last attempt's message: the change set's summary.
	changed string
	// commit is the applied commit's subject and author.
	commit *v1alpha1.CommitInfo
}

// newSync creates an IntentSync in ns and writes its status.
func newSync(t testing.TB, ns string, sp syncSpec) *v1alpha1.IntentSync {
	t.Helper()
	ctx := context.Background()
	if sp.url == "" {
		sp.url = "https://git.example.com/mesh.git"
	}
	o := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sp.name},
		Spec:       v1alpha1.IntentSyncSpec{Source: v1alpha1.GitSource{URL: sp.url, Branch: "main"}, Interval: metav1.Duration{Duration: time.Minute}},
	}
	if err := env.Client.Create(ctx, o); err != nil {
		t.Fatalf("creating IntentSync: %v", err)
	}
	now := metav1.Now()
	if sp.ready == "" {
		sp.ready, sp.reason = metav1.ConditionTrue, v1alpha1.ReasonSynced
	}
	if sp.applied == "" {
		sp.applied = "main@sha1:0123456789abcdef0123456789abcdef01234567"
	}
	if sp.fetched == "" {
		sp.fetched = sp.applied
	}
	o.Status = v1alpha1.IntentSyncStatus{
		Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: sp.ready, Reason: sp.reason, Message: sp.message,
			LastTransitionTime: now, ObservedGeneration: o.Generation}},
		LastFetchedRevision: sp.fetched, LastAppliedRevision: sp.applied, LastAppliedTime: &now, LastAppliedCommit: sp.commit,
		Inventory: &v1alpha1.InventoryStatus{Entries: sp.inventory, Total: len(sp.inventory)},
		Drift:     sp.drift, Policy: sp.policy, Cluster: sp.cluster,
		History: []v1alpha1.Attempt{{Revision: sp.applied, Result: sp.reason, StartedAt: now, Duration: metav1.Duration{Duration: 180 * time.Millisecond}, Message: sp.changed, Commit: sp.commit}},
	}
	if err := env.Client.Status().Update(ctx, o); err != nil {
		t.Fatalf("writing IntentSync status: %v", err)
	}
	return o
}

// createYAML creates the objects of a YAML stream in ns.
func createYAML(t testing.TB, ns, stream string) {
	t.Helper()
	for _, doc := range strings.Split(stream, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// reviewsYAML is what expand renders for a reviews intent splitting v1 and
// v2 (weights given) with v3 suspended, and a jason rule.
func reviewsYAML(v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  annotations: {meshintent.io/source: overlays/prod/reviews.yaml}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route:
    - {destination: {host: reviews, subset: v2}, weight: 100}
    - {destination: {host: reviews, subset: v3}, weight: 0}
  - route:
    - {destination: {host: reviews, subset: v1}, weight: %d}
    - {destination: {host: reviews, subset: v2}, weight: %d}
    - {destination: {host: reviews, subset: v3}, weight: 0}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]`, v1, v2)
}

// get fetches path with an optional bearer token and returns the status
// and body.
func get(t testing.TB, base, path, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// checkBody fails t for each of want that body of path lacks and each of
// notWant it has.
func checkBody(t *testing.T, path, body string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s lacks %q", path, w)
		}
	}
	for _, w := range notWant {
		if strings.Contains(body, w) {
			t.Errorf("GET %s has %q", path, w)
		}
	}
}

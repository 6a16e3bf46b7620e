package controller

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

var vsGVK, drGVK = meshkinds.VirtualService.GVK(), meshkinds.DestinationRule.GVK()

var namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")

// eventually is testenv.Eventually.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	testenv.Eventually(t, timeout, f)
}

// testManager is a manager running in the test's process.
type testManager struct {
	*Manager
	cancel context.CancelFunc
	done   chan error
}

// stop cancels the manager and waits for it to return.
func (m *testManager) stop(t *testing.T) {
	t.Helper()
	m.cancel()
	select {
	case err := <-m.done:
		if err != nil {
			t.Errorf("manager: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("manager did not stop within 30s")
	}
	m.done = nil
}

// startManager starts a manager watching ns. mod adjusts the options. It is
// stopped when the test ends; its log is printed when the test failed.
func startManager(t *testing.T, ns string, mod func(*Options)) *testManager {
	t.Helper()
	opts := Options{
		Config:             env.Config,
		Namespace:          ns,
		CacheDir:           t.TempDir(),
		Logger:             testLogger(t),
		skipNameValidation: true,
	}
	if mod != nil {
		mod(&opts)
	}
	mgr, err := NewManager(opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &testManager{Manager: mgr, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		if m.done != nil {
			m.stop(t)
		}
	})
	return m
}

// testLogger collects a manager's log and prints it when the test failed
// (logging to t directly could outlive the test).
func testLogger(t *testing.T) logr.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Logf("manager log:\n%s", buf.String())
		}
	})
	return funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&buf, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: 1})
}

// intentRepo is a Git repository of intents for one namespace, served over
// smart HTTP.
type intentRepo struct {
	*gitfixture.Repo
	srv *gitfixture.Server
	// head is the last commit.
	head string
}

// serviceIntent is gitfixture.SplitIntent: a ServiceIntent for name in ns
// splitting traffic between v1 and v2.
func serviceIntent(ns, name string, v1, v2 int) string {
	return gitfixture.SplitIntent(ns, name, v1, v2)
}

// newReviewsRepo is newIntentRepo holding one ServiceIntent, reviews,
// splitting 80/20 — the start of most tests.
func newReviewsRepo(t *testing.T, ns string) *intentRepo {
	t.Helper()
	return newIntentRepo(t, map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 80, 20)})
}

// pollingReviews starts the common scene of a sync test: a namespace, a
// newReviewsRepo, a manager watching the namespace and an IntentSync
// polling every second, Ready on the first commit (whose revision it
// returns).
func pollingReviews(t *testing.T) (ns string, repo *intentRepo, m *testManager, obj *v1alpha1.IntentSync, rev string) {
	t.Helper()
	ns = env.Namespace(t)
	repo = newReviewsRepo(t, ns)
	m = startManager(t, ns, nil)
	obj = newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.Interval.Duration = time.Second })
	rev = "main@sha1:" + repo.head
	waitReady(t, obj, rev, 30*time.Second)
	return ns, repo, m, obj, rev
}

// electing returns Options for a manager in leader election on a Lease in
// ns, with timings short enough for a test.
func electing(ns string) func(*Options) {
	return func(o *Options) {
		o.LeaderElection = true
		o.LeaderElectionNamespace = ns
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 4*time.Second, 3*time.Second, 200*time.Millisecond
	}
}

// newIntentRepo makes and serves a repository whose kustomization lists
// the given files.
func newIntentRepo(t *testing.T, files map[string]string) *intentRepo {
	t.Helper()
	r := &intentRepo{Repo: gitfixture.New(t)}
	r.setFiles(files)
	r.head = r.Commit("intents")
	r.srv = gitfixture.Serve(t, r.Dir)
	return r
}

// setFiles writes the files and a kustomization.yaml listing them (without
// committing).
func (r *intentRepo) setFiles(files map[string]string) {
	for name, content := range files {
		r.Write(name, content)
	}
	r.writeKustomization()
}

func (r *intentRepo) writeKustomization() {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		panic(err)
	}
	var resources []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" {
			resources = append(resources, e.Name())
		}
	}
	r.Write("kustomization.yaml", gitfixture.Kustomization(resources...))
}

// commit writes files, updates the kustomization and commits.
func (r *intentRepo) commit(files map[string]string) string {
	r.setFiles(files)
	r.head = r.Commit("update")
	return r.head
}

// newIntentSync creates an IntentSync named "mesh" in ns following the
// repository's main branch; mod adjusts the spec.
func newIntentSync(t *testing.T, ns string, repo *intentRepo, mod func(*v1alpha1.IntentSyncSpec)) *v1alpha1.IntentSync {
	t.Helper()
	return newNamedIntentSync(t, ns, "mesh", repo, mod)
}

// newNamedIntentSync is newIntentSync for an IntentSync named name.
func newNamedIntentSync(t *testing.T, ns, name string, repo *intentRepo, mod func(*v1alpha1.IntentSyncSpec)) *v1alpha1.IntentSync {
	t.Helper()
	return createIntentSync(t, ns, name, repo.srv.URL, func(obj *v1alpha1.IntentSync) {
		if mod != nil {
			mod(&obj.Spec)
		}
	})
}

// createIntentSync creates IntentSync ns/name following the main branch of
// the repository at url, polled hourly and retried every 2s; mod adjusts
// it.
func createIntentSync(t *testing.T, ns, name, url string, mod func(*v1alpha1.IntentSync)) *v1alpha1.IntentSync {
	t.Helper()
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntentSyncSpec{
			Source:        v1alpha1.GitSource{URL: url, Branch: "main"},
			Interval:      metav1.Duration{Duration: time.Hour},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
		},
	}
	mod(obj)
	if err := env.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating IntentSync %s: %v", name, err)
	}
	return obj
}

// getSync reads the IntentSync.
func getSync(t *testing.T, obj *v1alpha1.IntentSync) *v1alpha1.IntentSync {
	t.Helper()
	got := &v1alpha1.IntentSync{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatalf("reading IntentSync: %v", err)
	}
	return got
}

// patchSync merge-patches the IntentSync with what mod changes in it.
func patchSync(t *testing.T, obj *v1alpha1.IntentSync, mod func(*v1alpha1.IntentSync)) {
	t.Helper()
	cur := getSync(t, obj)
	base := cur.DeepCopy()
	mod(cur)
	if err := env.Client.Patch(t.Context(), cur, client.MergeFrom(base)); err != nil {
		t.Fatalf("patching IntentSync: %v", err)
	}
}

// stampRequestedAt sets the IntentSync's RequestedAtAnnotation to now, as a
// replica that does not lead does to ask for a reconcile.
func stampRequestedAt(t *testing.T, obj *v1alpha1.IntentSync) {
	t.Helper()
	patchSync(t, obj, func(cur *v1alpha1.IntentSync) {
		cur.Annotations = map[string]string{RequestedAtAnnotation: time.Now().Format(time.RFC3339Nano)}
	})
}

// condition is testenv.Condition.
func condition(obj *v1alpha1.IntentSync, typ string) metav1.Condition {
	return testenv.Condition(obj, typ)
}

// waitReady waits until the IntentSync is Ready with revision applied.
func waitReady(t *testing.T, obj *v1alpha1.IntentSync, revision string, timeout time.Duration) *v1alpha1.IntentSync {
	t.Helper()
	return env.WaitIntentSync(t, obj, timeout, testenv.ReadyAt(revision))
}

// waitReason waits until Ready has the reason.
func waitReason(t *testing.T, obj *v1alpha1.IntentSync, reason string, timeout time.Duration) *v1alpha1.IntentSync {
	t.Helper()
	return env.WaitIntentSync(t, obj, timeout, testenv.ReadyReason(reason))
}

// get is env.Get.
func get(gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	return env.Get(context.Background(), gvk, ns, name)
}

// mustGet is env.MustGet.
func mustGet(t *testing.T, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	return env.MustGet(t, gvk, ns, name)
}

// weights returns the weights of the first http route of a VirtualService.
func weights(vs *unstructured.Unstructured) []int64 {
	if routes := testenv.RouteWeights(vs); len(routes) > 0 {
		return routes[0]
	}
	return nil
}

// checkWeights checks the weights of the first http route of VirtualService
// ns/name.
func checkWeights(t *testing.T, ns, name string, want ...int64) {
	t.Helper()
	if diff := cmp.Diff(want, weights(mustGet(t, vsGVK, ns, name))); diff != "" {
		t.Errorf("%s weights (-want +got):\n%s", name, diff)
	}
}

// resourceVersions snapshots the resourceVersions of the mesh objects in ns.
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	return env.ResourceVersions(t, ns, vsGVK, drGVK)
}

// events returns the messages of the Events about the IntentSync with reason.
func events(t *testing.T, obj *v1alpha1.IntentSync, reason string) []string {
	t.Helper()
	return eventsOfType(t, obj, reason, "")
}

// eventsOfType returns the messages of the Events about the IntentSync with
// reason and, unless typ is empty, of type typ.
func eventsOfType(t *testing.T, obj *v1alpha1.IntentSync, reason, typ string) []string {
	t.Helper()
	list := &corev1.EventList{}
	if err := env.Client.List(t.Context(), list, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == v1alpha1.IntentSyncKind && e.InvolvedObject.Name == obj.Name && e.Reason == reason && (typ == "" || e.Type == typ) {
			out = append(out, e.Message)
		}
	}
	return out
}

// waitEvent waits for an Event with reason whose message contains all of
// parts, and returns the message.
func waitEvent(t *testing.T, obj *v1alpha1.IntentSync, reason string, timeout time.Duration, parts ...string) string {
	t.Helper()
	var msg string
	eventually(t, timeout, func() error {
	next:
		for _, m := range events(t, obj, reason) {
			for _, p := range parts {
				if !strings.Contains(m, p) {
					continue next
				}
			}
			msg = m
			return nil
		}
		return fmt.Errorf("no %s event containing %q; have %q", reason, parts, events(t, obj, reason))
	})
	return msg
}

// counts returns the sync and drift reconciles of obj by m.
func (m *testManager) syncCount(obj client.Object) int64 {
	return m.Reconciler.counts.get(&m.Reconciler.counts.sync, client.ObjectKeyFromObject(obj))
}

func (m *testManager) driftCount(obj client.Object) int64 {
	return m.Reconciler.counts.get(&m.Reconciler.counts.drift, client.ObjectKeyFromObject(obj))
}

// waitSyncs waits until m has run more than before sync reconciles of obj.
func (m *testManager) waitSyncs(t *testing.T, obj client.Object, before int64, timeout time.Duration) {
	t.Helper()
	waitMore(t, "sync", obj, before, timeout, m.syncCount)
}

// waitDriftChecks waits until m has run more than before drift reconciles
// of obj.
func (m *testManager) waitDriftChecks(t *testing.T, obj client.Object, before int64, timeout time.Duration) {
	t.Helper()
	waitMore(t, "drift", obj, before, timeout, m.driftCount)
}

func waitMore(t *testing.T, kind string, obj client.Object, before int64, timeout time.Duration, count func(client.Object) int64) {
	t.Helper()
	eventually(t, timeout, func() error {
		if n := count(obj); n <= before {
			return fmt.Errorf("%s reconciles of %s: %d, want more than %d", kind, obj.GetName(), n, before)
		}
		return nil
	})
}

// createKialiVirtualService creates, as another tool would, a VirtualService
// kiali-made in ns that no IntentSync manages.
func createKialiVirtualService(t *testing.T, ns string) {
	t.Helper()
	raw := &unstructured.Unstructured{}
	raw.SetGroupVersionKind(vsGVK)
	raw.SetNamespace(ns)
	raw.SetName("kiali-made")
	raw.Object["spec"] = map[string]any{"hosts": []any{"details"}}
	if err := env.Client.Create(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
}

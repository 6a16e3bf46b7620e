package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// meshKinds are the kinds a ServiceIntent renders to; the checks list them
// to find objects that should not be there.
var meshKinds = []schema.GroupVersionKind{meshkinds.VirtualService.GVK(), meshkinds.DestinationRule.GVK()}

// eventually is testenv.Eventually.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	testenv.Eventually(t, timeout, f)
}

// newIntentSync creates the IntentSync "mesh" in ns following main at url,
// polling every 2s, retrying transient failures at most 2s apart, pruning
// and fenced to ns; mod adjusts the spec.
func newIntentSync(t *testing.T, ns, url string, mod func(*v1alpha1.IntentSyncSpec)) *v1alpha1.IntentSync {
	t.Helper()
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh"},
		Spec: v1alpha1.IntentSyncSpec{
			Source:            v1alpha1.GitSource{URL: url, Branch: "main"},
			Interval:          metav1.Duration{Duration: 2 * time.Second},
			RetryInterval:     &metav1.Duration{Duration: 2 * time.Second},
			Prune:             true,
			AllowedNamespaces: []string{ns},
		},
	}
	if mod != nil {
		mod(&obj.Spec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatalf("creating IntentSync: %v", err)
	}
	return obj
}

// getSync is env.GetIntentSync: it reads the IntentSync with a deadline.
func getSync(obj *v1alpha1.IntentSync) (*v1alpha1.IntentSync, error) { return env.GetIntentSync(obj) }

// condition is testenv.Condition.
func condition(obj *v1alpha1.IntentSync, typ string) metav1.Condition {
	return testenv.Condition(obj, typ)
}

// waitReady waits until the IntentSync is Ready with sha applied.
func waitReady(t *testing.T, obj *v1alpha1.IntentSync, sha string, timeout time.Duration) *v1alpha1.IntentSync {
	t.Helper()
	return env.WaitIntentSync(t, obj, timeout, testenv.ReadyAt(revision(sha)))
}

// waitReason waits until Ready is False with reason and a message
// containing every one of parts.
func waitReason(t *testing.T, obj *v1alpha1.IntentSync, reason string, timeout time.Duration, parts ...string) *v1alpha1.IntentSync {
	t.Helper()
	return env.WaitIntentSync(t, obj, timeout, testenv.NotReady(reason, parts...))
}

// liveObjects lists the mesh objects in ns by ID.
func liveObjects(t *testing.T, ns string) map[string]*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs, err := env.List(ctx, ns, meshKinds...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for i := range objs {
		u := &objs[i]
		id := manifest.ObjectID(u.GetKind(), u.GetNamespace(), u.GetName())
		if _, dup := out[id]; dup {
			t.Errorf("%s listed twice", id)
		}
		out[id] = u
	}
	return out
}

// specOf returns o's spec as plain JSON values, so that rendered and live
// numbers compare alike.
func specOf(t *testing.T, o map[string]any) any {
	t.Helper()
	b, err := json.Marshal(o["spec"])
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// matching counts the objects of want whose live spec equals the rendered one.
func matching(t *testing.T, ns string, want manifest.Set) int {
	t.Helper()
	live := liveObjects(t, ns)
	n := 0
	for _, o := range want {
		if l, ok := live[o.ID()]; ok && cmp.Equal(specOf(t, o.Object), specOf(t, l.Object)) {
			n++
		}
	}
	return n
}

// ids returns the sorted IDs of set.
func ids(set manifest.Set) []string {
	out := make([]string, 0, len(set))
	for _, o := range set {
		out = append(out, o.ID())
	}
	slices.Sort(out)
	return out
}

// checkConverged checks that the cluster equals want, the render of sha
// (see checkCluster), and that status says so: Ready at sha with an
// inventory of len(want).
func checkConverged(t *testing.T, obj *v1alpha1.IntentSync, sha string, want manifest.Set) {
	t.Helper()
	got := checkKept(t, obj, sha, want)
	if ready := condition(got, v1alpha1.ConditionReady); ready.Status != metav1.ConditionTrue {
		t.Errorf("status: Ready=%s %s %q; want True at %s", ready.Status, ready.Reason, ready.Message, revision(sha))
	}
}

// checkKept checks, while a fault is on, that the cluster still equals
// want, the render of the last good commit sha, and that status still
// names sha as the last applied revision with its inventory. It returns
// the IntentSync it read.
func checkKept(t *testing.T, obj *v1alpha1.IntentSync, sha string, want manifest.Set) *v1alpha1.IntentSync {
	t.Helper()
	checkCluster(t, obj, sha, want)
	got, err := getSync(obj)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.LastAppliedRevision != revision(sha) {
		t.Errorf("status.lastAppliedRevision = %q, want %q", got.Status.LastAppliedRevision, revision(sha))
	}
	if inv := got.Status.Inventory; inv == nil || inv.Total != len(want) {
		t.Errorf("status.inventory = %+v, want a total of %d", inv, len(want))
	}
	return got
}

// follow creates an IntentSync in repo's namespace that follows url (its
// spec changed by mod when mod is not nil), waits until it is Ready at c1
// and checks that the cluster converged on c1.
func (r *intentRepo) follow(t *testing.T, url, c1 string, mod func(*v1alpha1.IntentSyncSpec)) *v1alpha1.IntentSync {
	t.Helper()
	obj := newIntentSync(t, r.ns, url, mod)
	waitReady(t, obj, c1, 90*time.Second)
	checkConverged(t, obj, c1, r.rendered(t, c1))
	return obj
}

// fault is a span of time during which something the controller needs was
// broken, and what was broken ("the Git server was down").
type fault struct {
	what     string
	from, to time.Time
}

// checkRecovered waits until obj is Ready at c2, the commit made during
// f, checks that the cluster converged on it, and that the status sampled
// during f never claimed a revision but c1 and gave no Ready reason but
// Synced and FetchFailed.
func checkRecovered(t *testing.T, obj *v1alpha1.IntentSync, repo *intentRepo, samples *sampler, c1, c2 string, f fault) {
	t.Helper()
	waitReady(t, obj, c2, 60*time.Second)
	t.Logf("recovered %s after the fault ended (%s for %s)", time.Since(f.to).Round(time.Millisecond), f.what, f.to.Sub(f.from).Round(time.Millisecond))
	checkConverged(t, obj, c2, repo.rendered(t, c2))
	during := samples.between(f.from, f.to)
	checkNeverClaimed(t, during, revision(c1))
	checkReasons(t, during, v1alpha1.ReasonSynced, v1alpha1.ReasonFetchFailed)
	logSamples(t, "while "+f.what, during)
}

// checkCluster checks that the cluster equals want, the render of sha:
// every object exists exactly once with the rendered spec and no other mesh
// object is in obj's namespace; the inventory ConfigMap of obj records sha
// and exactly want's objects, each once.
func checkCluster(t *testing.T, obj *v1alpha1.IntentSync, sha string, want manifest.Set) {
	t.Helper()
	ns := obj.Namespace
	live := liveObjects(t, ns)
	var liveIDs []string
	for id := range live {
		liveIDs = append(liveIDs, id)
	}
	slices.Sort(liveIDs)
	if diff := cmp.Diff(ids(want), liveIDs); diff != "" {
		t.Errorf("mesh objects in %s differ from the render of %.8s (-want +got):\n%s", ns, sha, diff)
	}
	for _, o := range want {
		l, ok := live[o.ID()]
		if !ok {
			continue
		}
		if diff := cmp.Diff(specOf(t, o.Object), specOf(t, l.Object)); diff != "" {
			t.Errorf("%s spec differs from the render of %.8s (-want +got):\n%s", o.ID(), sha, diff)
		}
	}

	// The inventory, decoded from the ConfigMap as stored (duplicates show).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: apply.DefaultInventoryNamespace, Name: obj.Namespace + "." + obj.Name}
	if err := env.Client.Get(ctx, key, cm); err != nil {
		t.Fatalf("reading the inventory %s: %v", key, err)
	}
	var entries []apply.Entry
	if err := json.Unmarshal([]byte(cm.Data[apply.InventoryEntriesKey]), &entries); err != nil {
		t.Fatalf("decoding the inventory %s: %v", key, err)
	}
	var invIDs []string
	for _, e := range entries {
		invIDs = append(invIDs, e.ID())
	}
	slices.Sort(invIDs)
	if diff := cmp.Diff(ids(want), invIDs); diff != "" {
		t.Errorf("inventory %s differs from the render of %.8s (-want +got):\n%s", key, sha, diff)
	}
	if got := cm.Data[apply.InventoryRevisionKey]; got != revision(sha) {
		t.Errorf("inventory %s records revision %q, want %q", key, got, revision(sha))
	}
}

// resourceVersions snapshots the resourceVersion of every mesh object in ns.
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	return env.ResourceVersions(t, ns, meshKinds...)
}

// sample is the status of an IntentSync at one moment, or the error that
// kept it from being read.
type sample struct {
	at          time.Time
	ready       metav1.Condition
	reconciling metav1.Condition
	lastApplied string
	err         string
}

func (s sample) String() string {
	if s.err != "" {
		return fmt.Sprintf("%s unreadable: %s", s.at.Format("15:04:05.000"), s.err)
	}
	return fmt.Sprintf("%s Ready=%s %s %q lastApplied=%s Reconciling=%s %q", s.at.Format("15:04:05.000"),
		s.ready.Status, s.ready.Reason, s.ready.Message, s.lastApplied, s.reconciling.Status, s.reconciling.Message)
}

// same reports whether two samples say the same thing.
func (s sample) same(o sample) bool {
	return s.err == o.err && s.lastApplied == o.lastApplied &&
		s.ready.Status == o.ready.Status && s.ready.Reason == o.ready.Reason && s.ready.Message == o.ready.Message &&
		s.reconciling.Status == o.reconciling.Status && s.reconciling.Message == o.reconciling.Message
}

// sampler reads an IntentSync's status every 50ms and keeps every change,
// so a test can check what status said while a fault was on.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

// sampleStatus starts sampling obj until the test ends.
func sampleStatus(t *testing.T, obj *v1alpha1.IntentSync) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var sm sample
			got, err := getSync(obj)
			sm.at = time.Now()
			if err != nil {
				sm.err = "API server unavailable" // the details vary per call
			} else {
				sm.ready = condition(got, v1alpha1.ConditionReady)
				sm.reconciling = condition(got, v1alpha1.ConditionReconciling)
				sm.lastApplied = got.Status.LastAppliedRevision
			}
			s.mu.Lock()
			if n := len(s.samples); n == 0 || !s.samples[n-1].same(sm) {
				s.samples = append(s.samples, sm)
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sampler) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// between returns the samples taken from from to to, starting with the one
// in force at from.
func (s *sampler) between(from, to time.Time) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sample
	for i, sm := range s.samples {
		if sm.at.After(to) {
			break
		}
		if !sm.at.Before(from) || i+1 < len(s.samples) && s.samples[i+1].at.After(from) {
			out = append(out, sm)
		}
	}
	return out
}

// checkNeverClaimed fails the test for every sample that says Ready=True
// at a revision other than the allowed ones: status must not claim a
// revision before the cluster holds it.
func checkNeverClaimed(t *testing.T, samples []sample, allowed ...string) {
	t.Helper()
	for _, sm := range samples {
		if sm.err == "" && sm.ready.Status == metav1.ConditionTrue && !slices.Contains(allowed, sm.lastApplied) {
			t.Errorf("status claimed Ready at %s while the fault was on: %s", sm.lastApplied, sm)
		}
	}
}

// checkReasons fails the test for every sample whose Ready reason is not
// one of reasons.
func checkReasons(t *testing.T, samples []sample, reasons ...string) {
	t.Helper()
	for _, sm := range samples {
		if sm.err == "" && !slices.Contains(reasons, sm.ready.Reason) {
			t.Errorf("status while the fault was on: %s; want a Ready reason in %q", sm, reasons)
		}
	}
}

// logSamples prints samples with t.Logf.
func logSamples(t *testing.T, what string, samples []sample) {
	t.Helper()
	var b strings.Builder
	for _, sm := range samples {
		b.WriteString("\n  " + sm.String())
	}
	t.Logf("status %s:%s", what, b.String())
}

// watchCreated starts watching for the DestinationRule ns/name and returns
// a channel that receives once it exists. The watch is running when it
// returns, so a creation right after cannot be missed.
func watchCreated(t *testing.T, ns, name string) <-chan time.Time {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: testenv.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	start := func() (watch.Interface, error) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(meshKinds[1].GroupVersion().WithKind(meshKinds[1].Kind + "List"))
		return wc.Watch(ctx, list, client.InNamespace(ns), client.MatchingFields{"metadata.name": name})
	}
	w, err := start()
	if err != nil {
		t.Fatalf("watching DestinationRule %s/%s: %v", ns, name, err)
	}
	ch := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					w.Stop()
					ch <- time.Now()
					return
				}
				if ev.Type == watch.Error {
					break // e.g. the watch cache lags behind: watch again
				}
			}
			w.Stop()
			// A new watch lists what exists first, so nothing is missed.
			for ctx.Err() == nil {
				if w, err = start(); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	return ch
}

// waitCreated waits for a channel of watchCreated.
func waitCreated(t *testing.T, ch <-chan time.Time, what string, timeout time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-ch:
		return at
	case <-time.After(timeout):
		t.Fatalf("%s not created within %s", what, timeout)
		return time.Time{}
	}
}

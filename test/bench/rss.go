package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
)

const (
	// settlePeriod is how long the controller is left alone before each
	// measurement.
	settlePeriod = 15 * time.Second
	// unmanagedPerNamespace is how many unmanaged objects (half
	// VirtualServices, half DestinationRules) go into each namespace.
	unmanagedPerNamespace = 1000
	// createWorkers bounds the parallel creates of unmanaged objects.
	createWorkers = 16
)

// rssBench measures the resident set of the reconciler subprocess syncing
// services ServiceIntents (a VirtualService and a DestinationRule each)
// with one IntentSync, then again after unmanaged VirtualServices and
// DestinationRules without meshintent's label were created in other
// namespaces. Each figure is the largest VmRSS sampled while a forced
// re-sync (a push of the applied commit: in report mode, a full drift
// check) runs and for a few seconds after, following a settle period. The
// idle figure is a single sample 5 s after the reconciler is ready, before
// the IntentSync exists. Each forced re-sync is a no-op reconcile: its wall
// time, the reconciler's CPU time and the writes it made to the managed
// objects are printed, for report mode and, after switching the IntentSync
// to it, correct mode (which re-applies instead of only checking).
func rssBench(ctx context.Context, work, reconciler string, services, unmanaged int) ([]row, error) {
	// The repository, served over HTTP, and the controller.
	const ns = "rss"
	setup, err := startSyncSetup(ctx, work, reconciler, "rss", ns, func(dir string) error {
		return writeIntentRepo(dir, ns, services)
	})
	if err != nil {
		return nil, err
	}
	defer setup.stop()
	cl, proc, url, head := setup.cl, setup.proc, setup.repo.url(), setup.head
	fail := func(err error) ([]row, error) { return nil, setup.fail(err) }
	if err := sleep(ctx, 5*time.Second); err != nil {
		return nil, err
	}
	idle, err := proc.memory()
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "bench: rss: idle, no IntentSync: %s\n", idle)

	// Sync the services. The bound is long: under client-go's default
	// 5 QPS, 200 objects took 111 s, so 2,000 would take about 18 minutes.
	obj, err := cl.newIntentSync(ctx, ns, "mesh", url, "", time.Hour)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(obj)
	fmt.Fprintf(os.Stderr, "bench: rss: syncing %d services\n", services)
	start := time.Now()
	synced, err := cl.waitApplied(ctx, key, head, 30*time.Minute)
	if err != nil {
		return fail(fmt.Errorf("first sync: %w", err))
	}
	firstSync := time.Since(start)
	managed := 0
	if synced.Status.Inventory != nil {
		managed = synced.Status.Inventory.Total
	}
	fmt.Fprintf(os.Stderr, "bench: rss: %d objects synced in %s\n", managed, firstSync.Round(time.Second))

	// Measure, add unmanaged objects, measure again.
	m := &rssMeter{cl: cl, proc: proc, key: key, url: url, commit: head}
	before, resync1, err := m.measure(ctx)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "bench: rss: %d managed objects: %s\n", managed, before)
	namespaces, err := createUnmanaged(ctx, cl, work, unmanaged)
	if err != nil {
		return fail(err)
	}
	after, resync2, err := m.measure(ctx)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "bench: rss: + %d unmanaged objects: %s\n", unmanaged, after)

	// The same no-op reconcile in correct mode, which re-applies the set
	// (every object found unchanged) instead of only checking it.
	if err := cl.patchSpec(ctx, key, map[string]any{"driftMode": "correct"}, 5*time.Minute); err != nil {
		return fail(err)
	}
	_, resync3, err := m.measure(ctx)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "bench: rss: forced re-syncs: report mode %s; with the unmanaged objects %s; correct mode %s\n", resync1, resync2, resync3)

	objects := thousands(managed) + " managed objects"
	return []row{
		{"controller RSS, idle (no IntentSync)", idle.split(), "", "", ""},
		{fmt.Sprintf("controller RSS, %s (%s services)", objects, thousands(services)), before.split(), "", "", "< 100 MiB"},
		{fmt.Sprintf("controller RSS, + %s unmanaged VS/DR in %d other namespaces", thousands(unmanaged), namespaces),
			after.split(), "", fmt.Sprintf("%.2f× the above", float64(after.RSS)/float64(before.RSS)), "< 100 MiB, flat"},
		{"controller first sync, " + objects, fmt.Sprintf("%.1f s", firstSync.Seconds()), "", "", ""},
		{"no-op reconcile, report mode (full drift check), " + objects, resync1.String(), "", "", "0 writes, < 100 ms CPU"},
		{"  the same, with the unmanaged objects", resync2.String(), "", "", ""},
		{"no-op reconcile, correct mode (re-apply), " + objects, resync3.String(), "", "", "0 writes, < 100 ms CPU"},
	}, nil
}

// resourceVersions maps the VirtualServices and DestinationRules in ns to
// their resourceVersions.
func (cl *cluster) resourceVersions(ctx context.Context, ns string) (map[string]string, error) {
	out := map[string]string{}
	for _, gvk := range []schema.GroupVersionKind{vsGVK, drGVK} {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := cl.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", gvk.Kind, ns, err)
		}
		for _, o := range list.Items {
			out[gvk.Kind+"/"+o.Name] = o.ResourceVersion
		}
	}
	return out, nil
}

// rssMeter measures the controller's resident set.
type rssMeter struct {
	cl          *cluster
	proc        *reconcilerProc
	key         client.ObjectKey
	url, commit string
}

// resync is what a forced re-sync of an applied commit (a no-op reconcile)
// took: wall time from the push to status.drift.checkedAt moving, the
// reconciler's CPU time (user + system) over that span, and the writes it
// made to the managed objects (resourceVersions that moved).
type resync struct {
	wall, cpu time.Duration
	writes    int
}

func (r resync) String() string {
	return fmt.Sprintf("%.1f s wall, %s CPU, %d writes", r.wall.Seconds(), ms(r.cpu), r.writes)
}

// measure waits settlePeriod, forces a re-sync by pushing the applied
// commit, and returns the sample of largest VmRSS, taken every 250 ms until
// status.drift.checkedAt moves and once a second for 4 s after, with the
// VmHWM at the end, and what the re-sync took.
func (m *rssMeter) measure(ctx context.Context) (peak memory, rs resync, err error) {
	if err := sleep(ctx, settlePeriod); err != nil {
		return memory{}, resync{}, err
	}
	obj, err := m.cl.getSync(ctx, m.key)
	if err != nil {
		return memory{}, resync{}, err
	}
	var checked time.Time
	if obj.Status.Drift != nil {
		checked = obj.Status.Drift.CheckedAt.Time
	}
	// checkedAt has a one-second resolution: a check in the second of the
	// last one could not be told apart.
	if err := sleep(ctx, time.Until(checked.Add(1100*time.Millisecond))); err != nil {
		return memory{}, resync{}, err
	}
	versions, err := m.cl.resourceVersions(ctx, m.key.Namespace)
	if err != nil {
		return memory{}, resync{}, err
	}

	sample := func() error {
		mem, err := m.proc.memory()
		if err != nil {
			return fmt.Errorf("reading the reconciler's RSS: %w", err)
		}
		if mem.RSS > peak.RSS {
			peak = mem
		}
		peak.HWM = mem.HWM
		return nil
	}
	if err := sample(); err != nil {
		return memory{}, resync{}, err
	}
	cpu0, err := m.proc.cpu()
	if err != nil {
		return memory{}, resync{}, err
	}
	start := time.Now()
	if err := m.proc.push(ctx, m.url, m.commit); err != nil {
		return memory{}, resync{}, err
	}
	err = poll(ctx, 30*time.Minute, 250*time.Millisecond, func() (bool, error) {
		if err := sample(); err != nil {
			return false, err
		}
		obj, err := m.cl.getSync(ctx, m.key)
		if err != nil {
			return false, err
		}
		return obj.Status.Drift != nil && obj.Status.Drift.CheckedAt.After(checked), nil
	})
	if err != nil {
		return memory{}, resync{}, fmt.Errorf("waiting for the forced re-sync: %w", err)
	}
	rs.wall = time.Since(start)
	cpu1, err := m.proc.cpu()
	if err != nil {
		return memory{}, resync{}, err
	}
	rs.cpu = cpu1 - cpu0
	after, err := m.cl.resourceVersions(ctx, m.key.Namespace)
	if err != nil {
		return memory{}, resync{}, err
	}
	for id, v := range after {
		if versions[id] != v {
			rs.writes++
		}
	}
	for range 4 {
		if err := sleep(ctx, time.Second); err != nil {
			return memory{}, resync{}, err
		}
		if err := sample(); err != nil {
			return memory{}, resync{}, err
		}
	}
	return peak, rs, nil
}

// createUnmanaged creates n VirtualServices and DestinationRules without
// meshintent's label (as hand-written ones would be) in namespaces
// unmanaged-00, unmanaged-01... of unmanagedPerNamespace each, with at most
// createWorkers creates in flight, and returns the number of namespaces.
func createUnmanaged(ctx context.Context, cl *cluster, work string, n int) (int, error) {
	tmpl, err := unmanagedTemplate(ctx, work)
	if err != nil {
		return 0, err
	}
	namespaces := (n + unmanagedPerNamespace - 1) / unmanagedPerNamespace
	for i := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unmanaged-%02d", i)}}
		if err := cl.c.Create(ctx, ns); err != nil {
			return 0, fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	// A client of its own without client-go's rate limit: the API server
	// is what should bound the pace.
	cfg := rest.CopyConfig(cl.env.Config)
	cfg.QPS = -1
	c, err := client.New(cfg, client.Options{Scheme: testenv.NewScheme()})
	if err != nil {
		return 0, err
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	jobs := make(chan int)
	var created atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, createWorkers)
	for w := range createWorkers {
		wg.Go(func() {
			for i := range jobs {
				o := tmpl[(i%unmanagedPerNamespace)%len(tmpl)].DeepCopy()
				o.SetNamespace(fmt.Sprintf("unmanaged-%02d", i/unmanagedPerNamespace))
				if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
					errs[w] = fmt.Errorf("creating %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
					cancel()
					return
				}
				created.Add(1)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
feed:
	for i := range n {
		for {
			select {
			case jobs <- i:
				continue feed
			case <-ctx.Done():
				break feed
			case <-tick.C:
				done := created.Load()
				fmt.Fprintf(os.Stderr, "bench: rss: created %d/%d unmanaged objects (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("creating unmanaged objects: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: rss: created %d unmanaged objects in %s\n", n, time.Since(start).Round(time.Second))
	return namespaces, nil
}

// unmanagedTemplate renders unmanagedPerNamespace/2 services and strips
// meshintent's labels and annotations: unmanagedPerNamespace objects that
// look hand-written.
func unmanagedTemplate(ctx context.Context, work string) ([]*unstructured.Unstructured, error) {
	dir := filepath.Join(work, "unmanaged-template")
	if err := writeIntentRepo(dir, "template", unmanagedPerNamespace/2); err != nil {
		return nil, err
	}
	res, err := render.Render(ctx, render.Options{Root: dir})
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, o := range res.Objects {
		if o.GetKind() != vsGVK.Kind && o.GetKind() != drGVK.Kind {
			continue
		}
		u := o.DeepCopy()
		labels := u.GetLabels()
		delete(labels, manifest.ManagedByLabel)
		u.SetLabels(labels)
		u.SetAnnotations(nil)
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("the unmanaged template rendered no VirtualService or DestinationRule")
	}
	return out, nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// This file holds the fleet part (-parts fleet): the figures of a
// controller at fleet scale, each against a local control plane with the
// reconciler run as subprocesses (see fleetBench).

// Sizes of the fleet part.
var (
	fleetSyncs     = flag.Int("fleet-syncs", 100, "fleet part: IntentSyncs of the sharded fleet (P7, P6); 0 measures only the single IntentSync (P5, P6, P4)")
	fleetServices  = flag.Int("fleet-services", 100, "fleet part: services (2 objects each) per IntentSync of the fleet")
	fleetSingle    = flag.Int("fleet-single-services", 1000, "fleet part: services (2 objects each) of the single IntentSync of P4, P5 and P6")
	fleetUnmanaged = flag.Int("fleet-unmanaged", 20000, "fleet part: unmanaged objects added for P6")
)

// fleetBench measures, on one control plane:
//
//   - P5: the controller's first sync of one IntentSync of -fleet-single-services
//     services (fetch, render, policies, dry-run and apply of 2 objects
//     each), from creating the IntentSync to Ready, against `kubectl apply
//     --server-side` of the same rendered objects into another namespace;
//   - P6: the controller's resident set with those objects managed;
//   - P4: the CPU time (utime + stime from /proc/<pid>/stat) of one no-op
//     reconcile of them, requested with the reconcile-requested-at
//     annotation, until status.drift.checkedAt moves;
//   - P7: -fleet-syncs IntentSyncs of -fleet-services services each, in a
//     namespace each, split between two shard processes (the main shard
//     and shard1, as config/sharding): time from creating them until all
//     are Ready, and the CPU of both processes over one no-op cycle of all
//     (every IntentSync requested at once, until each checkedAt moved);
//   - P6 again: one unsharded process managing the whole fleet, then with
//     -fleet-unmanaged unmanaged VirtualServices and DestinationRules
//     added in other namespaces.
//
// reconciler is the binary main built, or empty to build it here.
func fleetBench(ctx context.Context, root, work, reconciler string) ([]row, error) {
	if reconciler == "" {
		reconciler = filepath.Join(work, "reconciler")
		if err := sh(root, "env", "CGO_ENABLED=0", "go", "build", "-trimpath", "-ldflags=-s -w", "-o", reconciler, "./cmd/reconciler"); err != nil {
			return nil, err
		}
	}
	cl, err := startCluster(ctx, work, "fleet")
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: fleet: "+format+"\n", args...)
	}

	// One repository: the single IntentSync's services in single/, each
	// fleet IntentSync's in fleet-NNN/.
	repoDir := filepath.Join(work, "git", "fleet")
	if err := writeIntentRepo(filepath.Join(repoDir, "single"), "single", *fleetSingle); err != nil {
		return nil, err
	}
	for i := range *fleetSyncs {
		ns := fleetNamespace(i)
		if err := writeIntentRepo(filepath.Join(repoDir, ns), ns, *fleetServices); err != nil {
			return nil, err
		}
	}
	head, err := commitAll(ctx, repoDir)
	if err != nil {
		return nil, err
	}
	url := "file://" + repoDir
	rev := "main@sha1:" + head

	var rows []row
	single, err := fleetSingleSync(ctx, cl, work, reconciler, url, rev, progress)
	if err != nil {
		return nil, err
	}
	rows = append(rows, single...)
	if *fleetSyncs == 0 {
		// -fleet-syncs 0: the single IntentSync's figures only (P5, P6, P4).
		return rows, nil
	}
	fleet, err := fleetShards(ctx, cl, work, reconciler, url, rev, progress)
	if err != nil {
		return nil, err
	}
	return append(rows, fleet...), nil
}

// fleetSingleSync measures P5, P6 at one IntentSync and P4, then deletes
// the IntentSync (pruning its objects).
func fleetSingleSync(ctx context.Context, cl *cluster, work, reconciler, url, rev string, progress func(string, ...any)) ([]row, error) {
	const ns = "single"
	if err := cl.createNamespace(ctx, ns); err != nil {
		return nil, err
	}
	proc, err := startShardProc(ctx, reconciler, work, "fleet-single", cl.kubeconfig, "")
	if err != nil {
		return nil, err
	}
	defer proc.stop()
	fail := func(err error) ([]row, error) { return nil, fmt.Errorf("%w\n%s", err, proc.logTail(30)) }

	obj, err := newFleetSync(ctx, cl, ns, "mesh", url, ns, "")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	synced, err := cl.waitApplied(ctx, client.ObjectKeyFromObject(obj), rev[len("main@sha1:"):], 30*time.Minute)
	if err != nil {
		return fail(fmt.Errorf("first sync: %w", err))
	}
	firstSync := time.Since(start)
	objects := synced.Status.Inventory.Total
	progress("first sync of %d objects: %s", objects, firstSync.Round(time.Millisecond))

	// kubectl apply --server-side of the same objects, rendered into a
	// namespace of kubectl's own.
	const kns = "single-kubectl"
	set, err := meshSet(ctx, cl.c, work, kns, *fleetSingle)
	if err != nil {
		return nil, err
	}
	kubectl, err := kubectlApply(work, cl.kubeconfig, kns, set)
	if err != nil {
		return nil, err
	}
	progress("kubectl apply --server-side of %d objects: %s", len(set), kubectl.Round(time.Millisecond))

	mem, err := proc.settledMemory(ctx)
	if err != nil {
		return fail(err)
	}
	progress("RSS with %d managed objects: %s", objects, mem)
	// The kernel counts CPU time in ticks of 10 ms: the figure is the mean
	// of noopRuns reconciles.
	var noop cycle
	for range noopRuns {
		c, err := noopCycle(ctx, cl, []*reconcilerProc{proc}, []client.ObjectKey{client.ObjectKeyFromObject(obj)})
		if err != nil {
			return fail(err)
		}
		noop.cpu, noop.wall = noop.cpu+c.cpu/noopRuns, noop.wall+c.wall/noopRuns
	}
	progress("no-op reconcile of %d objects (mean of %d): %.1f ms CPU, %s wall", objects, noopRuns, float64(noop.cpu)/float64(time.Millisecond), ms(noop.wall))

	// Make room for the fleet: delete the IntentSync; prune takes its
	// objects with it.
	if err := cl.c.Delete(ctx, obj); err != nil {
		return nil, err
	}
	err = poll(ctx, 10*time.Minute, 500*time.Millisecond, func() (bool, error) {
		err := cl.c.Get(ctx, client.ObjectKeyFromObject(obj), &v1alpha1.IntentSync{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fail(fmt.Errorf("deleting the single IntentSync: %w", err))
	}

	what := fmt.Sprintf("%s objects, 1 IntentSync", thousands(objects))
	return []row{
		{"P5 first apply (controller: create → Ready), " + what, ms(firstSync), ms(kubectl) + " (kubectl apply --server-side)",
			fmt.Sprintf("%.2f×", firstSync.Seconds()/kubectl.Seconds()), "≤ 0.3× kubectl"},
		{"P6 controller RSS, " + what, mem.split(), "", "", "< 64 MiB"},
		{"P4 no-op reconcile, " + what + fmt.Sprintf(" (mean of %d)", noopRuns), fmt.Sprintf("%.1f ms CPU, %s wall", float64(noop.cpu)/float64(time.Millisecond), ms(noop.wall)), "", "", "< 20 ms CPU"},
	}, nil
}

// fleetShards measures P7 with two shard processes, then P6 with one
// unsharded process, before and after the unmanaged objects.
func fleetShards(ctx context.Context, cl *cluster, work, reconciler, url, rev string, progress func(string, ...any)) ([]row, error) {
	selectors := []string{"!" + controller.ShardLabel, controller.ShardLabel + "=shard1"}
	var procs []*reconcilerProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i, sel := range selectors {
		p, err := startShardProc(ctx, reconciler, work, fmt.Sprintf("fleet-shard%d", i), cl.kubeconfig, sel)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	logs := func() string {
		var s string
		for _, p := range procs {
			s += p.logTail(15) + "\n"
		}
		return s
	}
	fail := func(err error) ([]row, error) { return nil, fmt.Errorf("%w\n%s", err, logs()) }

	var keys []client.ObjectKey
	for i := range *fleetSyncs {
		ns := fleetNamespace(i)
		if err := cl.createNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for i := range *fleetSyncs {
		ns, shard := fleetNamespace(i), ""
		if i%2 == 1 {
			shard = "shard1"
		}
		obj, err := newFleetSync(ctx, cl, ns, "mesh", url, ns, shard)
		if err != nil {
			return nil, err
		}
		keys = append(keys, client.ObjectKeyFromObject(obj))
	}
	objects, stalled, err := waitAllReady(ctx, cl, keys, rev, time.Time{}, time.Second, 60*time.Minute, progress)
	if err != nil {
		return fail(err)
	}
	allReady := time.Since(start)
	progress("%d IntentSyncs (%d objects) Ready on two shards in %s", len(keys), objects, allReady.Round(time.Millisecond))

	if err := sleep(ctx, settlePeriod); err != nil {
		return nil, err
	}
	var shardMem []memory
	for _, p := range procs {
		m, err := p.memory()
		if err != nil {
			return fail(err)
		}
		shardMem = append(shardMem, m)
	}
	cycle, err := noopCycle(ctx, cl, procs, keys)
	if err != nil {
		return fail(err)
	}
	progress("no-op cycle of %d IntentSyncs on two shards: %s CPU, %s wall", len(keys), ms(cycle.cpu), ms(cycle.wall))

	// One unsharded process for the whole fleet.
	for _, p := range procs {
		p.stop()
	}
	procs = nil
	one, err := startShardProc(ctx, reconciler, work, "fleet-one", cl.kubeconfig, "")
	if err != nil {
		return nil, err
	}
	procs = append(procs, one)
	// Its first reconcile of each IntentSync is a no-op; wait for all.
	if _, err := noopCycle(ctx, cl, procs, keys); err != nil {
		return fail(err)
	}
	before, err := one.settledMemory(ctx)
	if err != nil {
		return fail(err)
	}
	progress("one process, %d managed objects: %s", objects, before)
	namespaces, err := createUnmanaged(ctx, cl, work, *fleetUnmanaged)
	if err != nil {
		return fail(err)
	}
	if err := sleep(ctx, settlePeriod); err != nil {
		return nil, err
	}
	withUnmanaged, err := noopCycle(ctx, cl, procs, keys)
	if err != nil {
		return fail(err)
	}
	after, err := one.settledMemory(ctx)
	if err != nil {
		return fail(err)
	}
	progress("one process, + %d unmanaged objects: %s", *fleetUnmanaged, after)

	what := fmt.Sprintf("%d IntentSyncs × %d objects", len(keys), 2**fleetServices)
	return []row{
		{"P7 all Ready from creation, " + what + ", 2 shards", fmt.Sprintf("%.1f s (%d stalled on the 5 s policy budget, retried)", allReady.Seconds(), stalled), "", "", ""},
		{"P7 no-op cycle of all, " + what + ", 2 shards", fmt.Sprintf("%s CPU (both processes), %s wall", ms(cycle.cpu), ms(cycle.wall)), "", "", ""},
		{"    shard RSS (main, shard1), " + thousands(objects/2) + " managed each", shardMem[0].split() + "; " + shardMem[1].split(), "", "", ""},
		{fmt.Sprintf("P6 controller RSS, %s managed objects, %d IntentSyncs, 1 process", thousands(objects), len(keys)), before.split(), "", "", "< 150 MiB"},
		{fmt.Sprintf("P6   + %s unmanaged VS/DR in %d other namespaces", thousands(*fleetUnmanaged), namespaces), after.split(), "",
			fmt.Sprintf("%.2f× the above", float64(after.RSS)/float64(before.RSS)), "flat"},
		{"    no-op cycle of all, 1 process, with the unmanaged objects", fmt.Sprintf("%s CPU, %s wall", ms(withUnmanaged.cpu), ms(withUnmanaged.wall)), "", "", ""},
	}, nil
}

// fleetNamespace is the namespace (and repository directory) of the i-th
// fleet IntentSync.
func fleetNamespace(i int) string { return fmt.Sprintf("fleet-%03d", i) }

// commitAll commits the files of dir, a new repository on branch main,
// and returns the commit.
func commitAll(ctx context.Context, dir string) (string, error) {
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "fleet"}} {
		if _, err := gitfixture.Run(ctx, dir, args...); err != nil {
			return "", err
		}
	}
	return gitfixture.Run(ctx, dir, "rev-parse", "HEAD")
}

// newFleetSync creates IntentSync ns/name following path of url's main
// branch hourly, labelled for shard unless it is empty.
func newFleetSync(ctx context.Context, cl *cluster, ns, name, url, path, shard string) (*v1alpha1.IntentSync, error) {
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntentSyncSpec{
			Source:        v1alpha1.GitSource{URL: url, Branch: "main", Path: path},
			Interval:      metav1.Duration{Duration: time.Hour},
			RetryInterval: &metav1.Duration{Duration: 5 * time.Second},
			DriftMode:     v1alpha1.DriftModeReport,
			Prune:         true,
		},
	}
	if shard != "" {
		obj.Labels = map[string]string{controller.ShardLabel: shard}
	}
	if err := cl.c.Create(ctx, obj); err != nil {
		return nil, fmt.Errorf("creating IntentSync %s/%s: %w", ns, name, err)
	}
	return obj, nil
}

// waitAllReady waits until every IntentSync of keys is Ready at rev (any
// revision when empty) with status.drift.checkedAt not before since
// (unless since is zero), and returns their managed objects and how many
// stalled on the policy time budget and were retried. It lists the
// IntentSyncs every interval.
func waitAllReady(ctx context.Context, cl *cluster, keys []client.ObjectKey, rev string, since time.Time, interval, timeout time.Duration, progress func(string, ...any)) (objects, retried int, err error) {
	want := map[client.ObjectKey]bool{}
	for _, k := range keys {
		want[k] = true
	}
	last := time.Now()
	retriedKeys := map[client.ObjectKey]bool{}
	err = poll(ctx, timeout, interval, func() (bool, error) {
		var list v1alpha1.IntentSyncList
		if err := cl.c.List(ctx, &list); err != nil {
			return false, fmt.Errorf("listing IntentSyncs: %w", err)
		}
		objects = 0
		ready := 0
		var example string
		for i := range list.Items {
			obj := &list.Items[i]
			key := client.ObjectKeyFromObject(obj)
			if !want[key] {
				continue
			}
			c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
			checked := since.IsZero() || obj.Status.Drift != nil && !obj.Status.Drift.CheckedAt.Time.Before(since)
			if c != nil && c.Status == metav1.ConditionTrue && (rev == "" || obj.Status.LastAppliedRevision == rev) && checked {
				ready++
				if obj.Status.Inventory != nil {
					objects += obj.Status.Inventory.Total
				}
				continue
			}
			if c != nil && example == "" {
				example = fmt.Sprintf("%s: %s %s", key, c.Reason, c.Message)
			}
			// A policy evaluation over its time budget (on cores shared with
			// the API server and the other shard) stalls the revision until
			// its spec changes: change it, and count it.
			if c != nil && c.Reason == v1alpha1.ReasonPolicyError && strings.Contains(c.Message, "budget") && !retriedKeys[key] {
				base := obj.DeepCopy()
				obj.Spec.RetryInterval = &metav1.Duration{Duration: obj.Spec.RetryInterval.Duration + time.Second}
				if err := cl.c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
					return false, fmt.Errorf("retrying %s: %w", key, err)
				}
				retriedKeys[key] = true
				progress("%s stalled on the policy time budget; changed its spec to retry it", key)
			}
		}
		if time.Since(last) > 30*time.Second {
			progress("%d of %d done (%s)", ready, len(keys), example)
			last = time.Now()
		}
		return ready == len(keys), nil
	})
	return objects, len(retriedKeys), err
}

// cycle is what one round of no-op reconciles took: wall time and the CPU
// time of the processes.
type cycle struct{ cpu, wall time.Duration }

// noopRuns is how many no-op reconciles P4 averages.
const noopRuns = 10

// noopCycle requests a reconcile of every IntentSync of keys (the
// reconcile-requested-at annotation) and waits until each has checked its
// drift since, summing the CPU time procs used meanwhile.
func noopCycle(ctx context.Context, cl *cluster, procs []*reconcilerProc, keys []client.ObjectKey) (cycle, error) {
	// checkedAt has a one-second resolution.
	if err := sleep(ctx, 1100*time.Millisecond); err != nil {
		return cycle{}, err
	}
	since := time.Now().Truncate(time.Second)
	cpu0, err := cpuOf(procs)
	if err != nil {
		return cycle{}, err
	}
	start := time.Now()
	for _, key := range keys {
		obj, err := cl.getSync(ctx, key)
		if err != nil {
			return cycle{}, err
		}
		base := obj.DeepCopy()
		if obj.Annotations == nil {
			obj.Annotations = map[string]string{}
		}
		obj.Annotations[controller.RequestedAtAnnotation] = time.Now().UTC().Format(time.RFC3339Nano)
		if err := cl.c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
			return cycle{}, fmt.Errorf("requesting a reconcile of %s: %w", key, err)
		}
	}
	if _, _, err := waitAllReady(ctx, cl, keys, "", since, 100*time.Millisecond, 30*time.Minute, func(string, ...any) {}); err != nil {
		return cycle{}, err
	}
	wall := time.Since(start)
	cpu1, err := cpuOf(procs)
	if err != nil {
		return cycle{}, err
	}
	return cycle{cpu: cpu1 - cpu0, wall: wall}, nil
}

// cpuOf sums the CPU time of procs.
func cpuOf(procs []*reconcilerProc) (time.Duration, error) {
	var sum time.Duration
	for _, p := range procs {
		c, err := p.cpu()
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum, nil
}

// startShardProc runs bin as `reconciler run` against kubeconfig for the
// IntentSyncs matching selector (all when empty), with leader election,
// metrics and the webhook receiver off and its probes on a free port of
// 127.0.0.1, and waits until /readyz answers 200.
func startShardProc(ctx context.Context, bin, work, name, kubeconfig, selector string) (*reconcilerProc, error) {
	probeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &reconcilerProc{logPath: filepath.Join(work, name+"-reconciler.log"), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run",
		"--kubeconfig", kubeconfig,
		"--metrics-addr", "0",
		"--health-probe-addr", probeAddr,
		"--watch-label-selector", selector,
		"--cache-dir", filepath.Join(work, name+"-git-cache"),
		"--zap-time-encoding", "rfc3339nano")
	// No webhook secret: the receiver stays off (two processes would both
	// want its port).
	p.cmd.Env = append(os.Environ(), "MESHINTENT_WEBHOOK_SECRET=")
	if err := p.start(ctx, probeAddr); err != nil {
		return nil, fmt.Errorf("reconciler %s: %w", name, err)
	}
	return p, nil
}

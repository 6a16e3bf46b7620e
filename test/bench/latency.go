package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// latencyServices is how many services the latency repository holds; the
// trials change the weights of the first.
const latencyServices = 5

// trialTimeout bounds one trial; a trial that takes longer fails the part.
const trialTimeout = 60 * time.Second

// latencyBench runs the reconciler as a subprocess against a local control
// plane, with an IntentSync following a repository served on 127.0.0.1,
// and times trials of each path from a change to its effect:
//
//   - push → applied via webhook (interval 1h): from posting a signed
//     GitHub push of a weight change to the live VirtualService having it;
//   - push → applied via poll (interval 1s): from the commit, made at a
//     random point of the poll interval, to the VirtualService having it;
//   - out-of-band edit → drift reported (report mode, interval 1h, so only
//     the drift watch can see it): from a JSON patch of the weight as field
//     manager kubectl-edit to status.drift counting it;
//   - out-of-band edit → corrected (correct mode): from the same patch to
//     the VirtualService having Git's weight again.
//
// Changes are seen through watches, not polls. Between trials the bench
// waits for the controller to finish recording the last one, then idles
// for -trial-gap so that trials are independent, as sparse real pushes and
// edits are: under a client-side rate limit (client-go's default is 5 QPS,
// burst 10) back-to-back trials would each wait for the tokens the last
// one spent.
func latencyBench(ctx context.Context, work, reconciler string, trials int) ([]row, error) {
	// A repository of a few services, served over HTTP, and the controller.
	const ns = "latency"
	setup, err := startSyncSetup(ctx, work, reconciler, "latency", ns, func(dir string) error {
		var files []string
		for i := range latencyServices {
			name := fmt.Sprintf("svc-%d", i)
			files = append(files, name+".yaml")
			if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(gitfixture.SplitIntent(ns, name, 90, 10)), 0o644); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(gitfixture.Kustomization(files...)), 0o644)
	})
	if err != nil {
		return nil, err
	}
	defer setup.stop()
	cl, proc, repo, url, head := setup.cl, setup.proc, setup.repo, setup.repo.url(), setup.head
	fail := func(err error) ([]row, error) { return nil, setup.fail(err) }

	// An IntentSync polling hourly.
	obj, err := cl.newIntentSync(ctx, ns, "mesh", url, "", time.Hour)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(obj)
	if _, err := cl.waitApplied(ctx, key, head, 2*time.Minute); err != nil {
		return fail(fmt.Errorf("first sync: %w", err))
	}

	t := &latencyTrials{cl: cl, proc: proc, repo: repo, url: url, key: key, ns: ns, weight: 90}
	// series runs the trials of one figure, each after gap.
	series := func(what string, gap func() time.Duration, trial func(i int) (time.Duration, error)) ([]time.Duration, error) {
		var ds []time.Duration
		for i := range trials {
			if err := sleep(ctx, gap()); err != nil {
				return nil, err
			}
			d, err := trial(i)
			if err != nil {
				return nil, fmt.Errorf("%s trial %d: %w\n%s", what, i+1, err, proc.logTail(30))
			}
			// The time of day matches trials with the reconciler's log (-keep).
			fmt.Fprintf(os.Stderr, "bench: latency: %s trial %d/%d: %s (at %s)\n",
				what, i+1, trials, d.Round(time.Millisecond), time.Now().UTC().Format("15:04:05.000"))
			ds = append(ds, d)
		}
		return ds, nil
	}
	fixedGap := func() time.Duration { return trialGap }

	// Push → applied via webhook.
	viaWebhook, err := series("webhook", fixedGap, func(int) (time.Duration, error) { return t.pushTrial(ctx, true) })
	if err != nil {
		return nil, err
	}

	// Push → applied via poll. Commits land at a random point of the
	// interval, as real pushes do, rather than right after the reconcile
	// that applied the last one.
	const pollInterval = time.Second
	if err := cl.patchSpec(ctx, key, map[string]any{"interval": pollInterval.String()}, 30*time.Second); err != nil {
		return fail(err)
	}
	randomGap := func() time.Duration { return trialGap + rand.N(pollInterval) }
	viaPoll, err := series("poll", randomGap, func(int) (time.Duration, error) { return t.pushTrial(ctx, false) })
	if err != nil {
		return nil, err
	}

	// Out-of-band edit → drift reported, in report mode. The hourly
	// interval leaves the drift watch as the only path.
	if err := cl.patchSpec(ctx, key, map[string]any{"interval": "1h"}, 30*time.Second); err != nil {
		return fail(err)
	}
	reported, err := series("drift reported", fixedGap, func(i int) (time.Duration, error) { return t.reportTrial(ctx, i) })
	if err != nil {
		return nil, err
	}

	// Out-of-band edit → corrected, in correct mode.
	if err := cl.patchSpec(ctx, key, map[string]any{"driftMode": string(v1alpha1.DriftModeCorrect)}, 30*time.Second); err != nil {
		return fail(err)
	}
	corrected, err := series("drift corrected", fixedGap, func(i int) (time.Duration, error) { return t.correctTrial(ctx, i) })
	if err != nil {
		return nil, err
	}

	n := fmt.Sprintf("%d trials", trials)
	return []row{
		{"push → applied, webhook (interval 1h), " + n, percentiles(viaWebhook), "", "", "p50 < 1 s"},
		{"push → applied, poll (interval 1s), " + n, percentiles(viaPoll), "", "", "p50 < 2 s (bounded by the interval)"},
		{"out-of-band edit → drift reported (report mode), " + n, percentiles(reported), "", "", "p50 < 1 s"},
		{"out-of-band edit → corrected (correct mode), " + n, percentiles(corrected), "", "", "p50 < 2 s"},
	}, nil
}

// latencyTrials is the state the trials share.
type latencyTrials struct {
	cl   *cluster
	proc *reconcilerProc
	repo *servedRepo
	url  string
	key  client.ObjectKey
	ns   string
	// weight is svc-0's v1 weight in Git; commits counts the trial commits.
	weight, commits int
}

// pushTrial commits a new v1 weight for svc-0 and times until the live
// VirtualService has it: from the webhook's POST with viaWebhook, from the
// commit otherwise. It then waits until the IntentSync records the commit.
func (t *latencyTrials) pushTrial(ctx context.Context, viaWebhook bool) (time.Duration, error) {
	t.commits++
	w := 10 + t.commits%80 // never the previous weight
	if err := t.repo.write("svc-0.yaml", gitfixture.SplitIntent(t.ns, "svc-0", w, 100-w)); err != nil {
		return 0, err
	}
	vs, err := t.vs(ctx)
	if err != nil {
		return 0, err
	}
	commit, err := t.repo.commit(ctx, fmt.Sprintf("svc-0: v1 weight %d", w))
	if err != nil {
		return 0, err
	}
	// The clock starts at the webhook's POST, or once the commit exists
	// for a poll to find.
	start := time.Now()
	if viaWebhook {
		if err := t.proc.push(ctx, t.url, commit); err != nil {
			return 0, err
		}
	}
	at, err := t.cl.watchUntil(ctx, vsList(), t.ns, "svc-0", vs.GetResourceVersion(), trialTimeout, hasV1Weight(w))
	if err != nil {
		return 0, err
	}
	t.weight = w
	if _, err := t.cl.waitApplied(ctx, t.key, commit, trialTimeout); err != nil {
		return 0, err
	}
	return at.Sub(start), nil
}

// reportTrial edits svc-0's weights as kubectl-edit and times until
// status.drift counts drifted fields, then puts Git's weights back and
// waits until the drift is cleared.
func (t *latencyTrials) reportTrial(ctx context.Context, i int) (time.Duration, error) {
	obj, err := t.cl.getSync(ctx, t.key)
	if err != nil {
		return 0, err
	}
	if d := obj.Status.Drift; d != nil && d.Drifted > 0 {
		return 0, fmt.Errorf("drift is reported before the edit: %v", d.Entries)
	}
	start := time.Now()
	if _, err := t.edit(ctx, 1+i%9); err != nil { // 1..9: never Git's weight
		return 0, err
	}
	at, err := t.cl.watchUntil(ctx, &v1alpha1.IntentSyncList{}, t.key.Namespace, t.key.Name, obj.ResourceVersion, trialTimeout, func(o client.Object) bool {
		d := o.(*v1alpha1.IntentSync).Status.Drift
		return d != nil && d.Drifted > 0
	})
	if err != nil {
		return 0, err
	}

	// Undo the edit; the drift watch clears the report.
	if _, err := t.edit(ctx, t.weight); err != nil {
		return 0, err
	}
	err = poll(ctx, trialTimeout, 20*time.Millisecond, func() (bool, error) {
		obj, err := t.cl.getSync(ctx, t.key)
		if err != nil {
			return false, err
		}
		return obj.Status.Drift != nil && obj.Status.Drift.Drifted == 0, nil
	})
	if err != nil {
		return 0, fmt.Errorf("waiting for the drift to clear after undoing the edit: %w", err)
	}
	return at.Sub(start), nil
}

// correctTrial edits svc-0's weights as kubectl-edit and times until the
// live VirtualService has Git's weight again, then waits until status says
// nothing drifted.
func (t *latencyTrials) correctTrial(ctx context.Context, i int) (time.Duration, error) {
	obj, err := t.cl.getSync(ctx, t.key)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	vs, err := t.edit(ctx, 1+i%9)
	if err != nil {
		return 0, err
	}
	at, err := t.cl.watchUntil(ctx, vsList(), t.ns, "svc-0", vs.GetResourceVersion(), trialTimeout, hasV1Weight(t.weight))
	if err != nil {
		return 0, err
	}
	corrected := 0
	if obj.Status.Drift != nil {
		corrected = obj.Status.Drift.Corrected
	}
	err = poll(ctx, trialTimeout, 20*time.Millisecond, func() (bool, error) {
		obj, err := t.cl.getSync(ctx, t.key)
		if err != nil {
			return false, err
		}
		d := obj.Status.Drift
		return d != nil && d.Drifted == 0 && d.Corrected > corrected, nil
	})
	if err != nil {
		return 0, fmt.Errorf("waiting for status to record the correction: %w", err)
	}
	return at.Sub(start), nil
}

// edit sets svc-0's weights to v1 and 100-v1 with a JSON patch as field
// manager kubectl-edit, as `kubectl edit` would, and returns the patched
// object.
func (t *latencyTrials) edit(ctx context.Context, v1 int) (*unstructured.Unstructured, error) {
	patch, err := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": v1},
		{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 100 - v1},
	})
	if err != nil {
		return nil, err
	}
	vs := &unstructured.Unstructured{}
	vs.SetGroupVersionKind(vsGVK)
	vs.SetNamespace(t.ns)
	vs.SetName("svc-0")
	if err := t.cl.c.Patch(ctx, vs, client.RawPatch(types.JSONPatchType, patch), client.FieldOwner("kubectl-edit")); err != nil {
		return nil, fmt.Errorf("editing VirtualService %s/svc-0: %w", t.ns, err)
	}
	return vs, nil
}

// vs reads the live svc-0 VirtualService.
func (t *latencyTrials) vs(ctx context.Context) (*unstructured.Unstructured, error) {
	vs := &unstructured.Unstructured{}
	vs.SetGroupVersionKind(vsGVK)
	if err := t.cl.c.Get(ctx, client.ObjectKey{Namespace: t.ns, Name: "svc-0"}, vs); err != nil {
		return nil, fmt.Errorf("reading VirtualService %s/svc-0: %w", t.ns, err)
	}
	return vs, nil
}

func vsList() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(vsGVK.GroupVersion().WithKind(vsGVK.Kind + "List"))
	return l
}

// hasV1Weight accepts a VirtualService whose first route sends w to v1.
func hasV1Weight(w int) func(client.Object) bool {
	return func(o client.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return false
		}
		ws := weights(u)
		return len(ws) > 0 && ws[0] == int64(w)
	}
}

// percentiles formats the nearest-rank p50 and p95 of ds, and the max.
func percentiles(ds []time.Duration) string { return percentilesAt(ds, 0.50, 0.95) }

package controller

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// liveTTL is how long the controller reuses what it read for the live
// checks: builds of several IntentSyncs in a burst share the reads, and a
// Pod that appears is seen at the next build after it. The build of a new
// revision or generation of an IntentSync reuses nothing read before it
// (see liveData), so the TTL never delays a fix pushed after a denial.
const liveTTL = 30 * time.Second

// liveData is the pipeline's DataFor for obj at revision: the live checks'
// view of the cluster (policies/live.rego) read by reader, the sync's
// target's (fleet.go), nil when there is none (the checks are off). The first build of a revision and generation of obj reads
// the cluster afresh; a rebuild of the same ones (a retry after an apply
// failure) may reuse reads younger than liveTTL. The previous versions of
// obj's own objects are not foreign claims. A
// failure to read (RBAC without get/list on Services and Pods, the API
// server busy) skips the checks for this build and is logged: the gate
// then judges the set offline, as the CLI does without a cluster.
func liveData(reader *live.Reader, obj *v1alpha1.IntentSync, revision string) func(context.Context, manifest.Set) (map[string]any, error) {
	if reader == nil {
		return nil
	}
	owned := func(labels map[string]string) bool {
		return labels[SyncNamespaceLabel] == obj.Namespace && labels[SyncNameLabel] == obj.Name
	}
	opts := live.ReadOptions{
		Owned:   owned,
		Scope:   obj.Namespace + "/" + obj.Name,
		Version: fmt.Sprintf("%s@%d", revision, obj.Generation),
	}
	return func(ctx context.Context, set manifest.Set) (map[string]any, error) {
		v, err := reader.Read(ctx, set, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			ctrl.LoggerFrom(ctx).Info("live checks skipped", "reason", err.Error())
			return nil, nil
		}
		return v.Data()
	}
}

package cli

import (
	"context"

	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/pipeline"
)

// build renders a tree and, with gate set, runs the policy gate over it (see
// pipeline.Build).
func (f *inputFlags) build(ctx context.Context, t tree, gate bool) (*pipeline.Outcome, error) {
	return f.buildLive(ctx, t, gate, nil)
}

// buildLive is build with the live checks' data (see liveChecks); nil
// dataFor runs them offline, where they are silent.
func (f *inputFlags) buildLive(ctx context.Context, t tree, gate bool, dataFor func(context.Context, manifest.Set) (map[string]any, error)) (*pipeline.Outcome, error) {
	defer startProgress(ctx, "rendering "+t.Path)()
	return pipeline.Build(ctx, pipeline.Options{
		Root: t.Root, Path: t.Path, AllowRemoteBases: f.remote,
		PolicyDirs: f.policyDirs, SkipPolicy: !gate, DataFor: dataFor,
		Data:          f.fence().Data(),
		PolicyTimeout: f.policyTimeout,
		YAMLLimits:    f.yamlLimits.limits(),
	})
}

// fence is the tenancy fence of --allowed-namespaces, --shared-gateways and
// --allowed-external-hosts, the same as an IntentSync's.
func (f *inputFlags) fence() controller.Fence {
	return controller.Fence{Namespaces: f.allowedNS, SharedGateways: f.sharedGateways, AllowedExternalHosts: f.externalHosts}
}

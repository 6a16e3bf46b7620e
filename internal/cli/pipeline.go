package cli

import (
	"context"

	"github.com/meshintent/meshintent/pkg/pipeline"
)

// build renders a tree and, with gate set, runs the policy gate over it (see
// pipeline.Build).
func (f *inputFlags) build(ctx context.Context, t tree, gate bool) (*pipeline.Outcome, error) {
	return pipeline.Build(ctx, pipeline.Options{
		Root: t.Root, Path: t.Path, AllowRemoteBases: f.remote,
		PolicyDirs: f.policyDirs, SkipPolicy: !gate,
		Data: pipeline.FenceData(f.allowedNS),
	})
}

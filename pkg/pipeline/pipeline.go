// Package pipeline runs the offline half of meshintent over a checked-out
// tree: read the repository's meshintent.yaml, render, and run the policy
// gate. The CLI and the controller share it, so both judge a revision alike.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/validate"
)

// Options say what to build and which policies to add.
type Options struct {
	// Root is the checked-out repository; kustomize reads nothing outside it.
	Root string
	// Path is the kustomization's directory relative to Root.
	Path string
	// AllowRemoteBases lets kustomizations load remote bases.
	AllowRemoteBases bool
	// PolicyDirs are extra policy directories (absolute, or relative to the
	// working directory), read after the repository's own.
	PolicyDirs []string
	// Data is merged over the policies' data, e.g. the tenancy fence
	// {"meshintent": {"config": {"allowedNamespaces": [...]}}}.
	Data map[string]any
	// SkipPolicy renders only; Outcome.Report stays nil.
	SkipPolicy bool
	// DataFor, when set, is called with the rendered set before the gate;
	// its data is merged over Data (maps key by key). The live checks'
	// view of the cluster comes this way (see package live).
	DataFor func(ctx context.Context, set manifest.Set) (map[string]any, error)
	// PolicyTimeout is the time budget of the policy evaluation;
	// validate.DefaultTimeout when 0.
	PolicyTimeout time.Duration
	// Cache, when set, is reused between builds of the same repository.
	Cache *render.Cache
	// YAMLLimits bound the YAML the render reads (see render.Options.Limits);
	// zero fields take their defaults.
	YAMLLimits render.Limits
}

// Outcome is what the pipeline made of a tree.
type Outcome struct {
	// Config is the repository's meshintent.yaml (or its defaults).
	Config RepoConfig
	// Render holds the objects and intents.
	Render *render.Result
	// Report is the policy verdict; nil with SkipPolicy.
	Report *validate.Report
}

// Build renders the tree and runs the policy gate: the built-in policies,
// the repository's own (meshintent.yaml, or policies/) and opts.PolicyDirs.
//
// Build returns ctx's error (wrapped, naming the stage) promptly once ctx is
// done, even while a stage that does not look at ctx often (kustomize's
// build) is still running: that stage is left to finish on its own in the
// background, its result dropped. A caller that exits on cancellation, as
// the CLI does, exits at once; a long-lived one (the controller) pays for
// the rest of that stage in CPU only.
func Build(ctx context.Context, opts Options) (*Outcome, error) {
	if ctx.Err() != nil {
		return nil, cancelled(ctx, "rendering")
	}
	cfg, err := LoadRepoConfig(opts.Root)
	if err != nil {
		return nil, err
	}
	res, err := interruptible(ctx, "rendering", func() (*render.Result, error) {
		return render.Render(ctx, render.Options{
			Root: opts.Root, Path: opts.Path, AllowRemoteBases: opts.AllowRemoteBases, Cache: opts.Cache,
			Limits: opts.YAMLLimits,
		})
	})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Config: cfg, Render: res}
	if opts.SkipPolicy {
		return out, nil
	}
	sources, err := policySources(cfg, opts.Root, opts.PolicyDirs)
	if err != nil {
		return nil, err
	}
	// meshintent.yaml's policy data (severities), under the caller's.
	data := mergeData(cfg.PolicyData(), opts.Data)
	if opts.DataFor != nil {
		extra, err := opts.DataFor(ctx, res.Objects)
		if err != nil {
			return nil, err
		}
		data = mergeData(data, extra)
	}
	engine, err := interruptible(ctx, "compiling policies", func() (*validate.Engine, error) {
		return validate.New(ctx, validate.Options{
			Policies: sources, Data: data, Timeout: opts.PolicyTimeout, Exceptions: cfg.PolicyExceptions(),
		})
	})
	if err != nil {
		return nil, err
	}
	out.Report, err = interruptible(ctx, "evaluating policies", func() (*validate.Report, error) {
		rep, err := engine.Evaluate(ctx, validate.Input{Objects: res.Objects, Intents: res.Intents})
		if err != nil {
			return nil, fmt.Errorf("evaluating policies: %w", err)
		}
		return rep, nil
	})
	if err != nil {
		return nil, err
	}
	cfg.addWarnings(out.Report)
	LocateResults(res, out.Report.Results)
	return out, nil
}

// LocateResults points each result at the lines that wrote its field: the
// intent's and the overlay patches'. Results of checks made after the
// build (the controller's tenancy fence) go through it too.
func LocateResults(res *render.Result, results []validate.Result) {
	for i := range results {
		r := &results[i]
		if locs := res.Locate(r.Object, r.Field); len(locs) > 0 && locs[0].File == r.Source {
			r.Line, r.Related = locs[0].Line, locs[1:]
		}
	}
}

// mergeData returns over merged onto base, maps key by key, without
// changing either.
func mergeData(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if b, ok := out[k].(map[string]any); ok {
			if o, ok := v.(map[string]any); ok {
				out[k] = mergeData(b, o)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// interruptible runs fn and returns its result, or, as soon as ctx is done
// first, ctx's error wrapped as "<stage> cancelled". fn gets no other
// signal than ctx itself: it goes on in its goroutine until it returns, and
// its result is dropped. An error fn returns because ctx was cancelled is
// reported the same way, so that the caller sees one kind of cancellation.
func interruptible[T any](ctx context.Context, stage string, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned fn does not block
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	var zero T
	select {
	case <-ctx.Done():
		return zero, cancelled(ctx, stage)
	case r := <-done:
		if r.err != nil && ctx.Err() != nil {
			return zero, cancelled(ctx, stage)
		}
		return r.v, r.err
	}
}

// cancelled is the error of a stage stopped by ctx: it wraps ctx's cause
// and ctx.Err(), so errors.Is(err, context.Canceled) (or DeadlineExceeded)
// holds whatever the cause.
func cancelled(ctx context.Context, stage string) error {
	if cause := context.Cause(ctx); !errors.Is(cause, ctx.Err()) {
		return fmt.Errorf("%s cancelled: %w (%w)", stage, cause, ctx.Err())
	}
	return fmt.Errorf("%s cancelled: %w", stage, context.Cause(ctx))
}

// FenceData is the policy data that fences a render to some namespaces
// (policy meshintent.tenancy); nil when namespaces is empty (no fence).
func FenceData(namespaces []string) map[string]any {
	if len(namespaces) == 0 {
		return nil
	}
	allowed := make([]any, len(namespaces))
	for i, ns := range namespaces {
		allowed[i] = ns
	}
	return map[string]any{"meshintent": map[string]any{"config": map[string]any{"allowedNamespaces": allowed}}}
}

// Package pipeline runs the offline half of meshintent over a checked-out
// tree: read the repository's meshintent.yaml, render, and run the policy
// gate. The CLI and the controller share it, so both judge a revision alike.
package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

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
	// Cache, when set, is reused between builds of the same repository.
	Cache *render.Cache
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
func Build(ctx context.Context, opts Options) (*Outcome, error) {
	cfg, err := LoadRepoConfig(opts.Root)
	if err != nil {
		return nil, err
	}
	res, err := render.Render(ctx, render.Options{
		Root: opts.Root, Path: opts.Path, AllowRemoteBases: opts.AllowRemoteBases, Cache: opts.Cache,
	})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Config: cfg, Render: res}
	if opts.SkipPolicy {
		return out, nil
	}
	var sources []validate.Source
	for _, dir := range cfg.Policies {
		src := validate.Dir(dir)
		if rel, err := filepath.Rel(opts.Root, dir); err == nil {
			src.Name = filepath.ToSlash(rel) // repo-relative names in results
		}
		sources = append(sources, src)
	}
	for _, dir := range opts.PolicyDirs {
		sources = append(sources, validate.Dir(dir))
	}
	engine, err := validate.New(ctx, validate.Options{Policies: sources, Data: opts.Data})
	if err != nil {
		return nil, err
	}
	out.Report, err = engine.Evaluate(ctx, validate.Input{Objects: res.Objects, Intents: res.Intents})
	if err != nil {
		return nil, fmt.Errorf("evaluating policies: %w", err)
	}
	return out, nil
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

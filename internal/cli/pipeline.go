package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/validate"
)

// outcome is what the offline pipeline makes of one tree.
type outcome struct {
	Tree   tree
	Render *render.Result
	Report *validate.Report
}

// build renders a tree and, with gate set, runs the policy gate over it: the
// built-in policies, the repository's own (meshintent.yaml or policies/) and
// any --policy-dir.
func (f *inputFlags) build(ctx context.Context, t tree, gate bool) (*outcome, error) {
	res, err := render.Render(ctx, render.Options{Root: t.Root, Path: t.Path, AllowRemoteBases: f.remote})
	if err != nil {
		return nil, err
	}
	out := &outcome{Tree: t, Render: res}
	if !gate {
		return out, nil
	}
	engine, err := f.engine(ctx, t.Root)
	if err != nil {
		return nil, err
	}
	out.Report, err = engine.Evaluate(ctx, validate.Input{Objects: res.Objects, Intents: res.Intents})
	if err != nil {
		return nil, fmt.Errorf("evaluating policies: %w", err)
	}
	return out, nil
}

// engine loads the policies that apply to a repository checked out at root.
func (f *inputFlags) engine(ctx context.Context, root string) (*validate.Engine, error) {
	cfg, err := loadRepoConfig(root)
	if err != nil {
		return nil, err
	}
	var sources []validate.Source
	for _, dir := range cfg.Policies {
		src := validate.Dir(dir)
		if rel, err := filepath.Rel(root, dir); err == nil {
			src.Name = filepath.ToSlash(rel) // repo-relative names in results
		}
		sources = append(sources, src)
	}
	for _, dir := range f.policyDirs {
		sources = append(sources, validate.Dir(dir))
	}
	return validate.New(ctx, validate.Options{Policies: sources})
}

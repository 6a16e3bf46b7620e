package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Options configure Compute.
type Options struct {
	// IntentSync is "namespace/name" of the IntentSync reported on, or empty.
	IntentSync string
	// Source is the Git URL; credentials are removed from it.
	Source string
	// Revision is the revision the set was rendered from.
	Revision string
	// AppliedAt is when Revision was applied; zero when unknown.
	AppliedAt time.Time
	// Inventory is the inventory ConfigMap of the applied objects (for
	// stale objects and what counts as managed); empty means none.
	Inventory string
	// Ignore are drift ignore rules.
	Ignore []apply.IgnoreRule
	// MeshKinds are searched for unmanaged objects; nil means
	// apply.DefaultMeshKinds.
	MeshKinds []schema.GroupVersionKind
	// Now is the report's time; zero means time.Now().
	Now time.Time
	// Notes are added to the report.
	Notes []string
}

// Compute reports how the cluster m writes to differs from set: the drift
// (apply.Manager.Drift) and the conflicts with other field managers
// (FindConflicts). It writes nothing.
func Compute(ctx context.Context, m *apply.Manager, set manifest.Set, opts Options) (*Report, error) {
	// The digest annotation, which differs whenever the set was applied by
	// another route, is one of apply.BuiltinIgnores.
	drift, err := m.Drift(ctx, set, apply.DriftOptions{Ignore: opts.Ignore, Inventory: opts.Inventory, MeshKinds: opts.MeshKinds})
	if err != nil {
		return nil, fmt.Errorf("checking drift: %w", err)
	}
	conflicts, notes, err := FindConflicts(ctx, m, set)
	if err != nil {
		return nil, fmt.Errorf("looking for conflicts: %w", err)
	}
	return New(Input{
		IntentSync:  opts.IntentSync,
		Source:      opts.Source,
		Revision:    opts.Revision,
		AppliedAt:   opts.AppliedAt,
		GeneratedAt: opts.Now,
		Drift:       drift,
		Conflicts:   conflicts,
		Notes:       append(append([]string(nil), opts.Notes...), notes...),
	}), nil
}

// FindConflicts dry-runs a server-side apply of set without force and
// returns every field another field manager owns with a value other than
// Git's, per object. Missing namespaces do not count: the dry-run treats
// them as created (and creates nothing). Objects whose dry-run fails for
// another reason are returned as notes; an error means the dry-run could
// not be made at all.
func FindConflicts(ctx context.Context, m *apply.Manager, set manifest.Set) ([]Conflict, []string, error) {
	_, err := m.Apply(ctx, set, apply.ApplyOptions{DryRun: true, CreateNamespaces: true})
	return conflictsOf(err)
}

// conflictsOf sorts a dry-run's error into conflicts and notes.
func conflictsOf(err error) ([]Conflict, []string, error) {
	if err == nil {
		return []Conflict{}, nil, nil
	}
	var dr *apply.DryRunError
	if !errors.As(err, &dr) {
		return nil, nil, err
	}
	conflicts := []Conflict{}
	var notes []string
	for _, f := range dr.Failures {
		var ce *apply.ConflictError
		if !errors.As(f.Err, &ce) {
			notes = append(notes, f.Error())
			continue
		}
		for _, c := range ce.Conflicts {
			conflicts = append(conflicts, Conflict{ID: f.ID, Source: f.Source, Field: c.Field, Manager: c.Manager})
		}
	}
	return conflicts, notes, nil
}

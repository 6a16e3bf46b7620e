// Package plan compares two rendered sets (a base and a head revision) and
// says, object by object, what a merge would change: the pull-request view.
package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// Action is what happens to an object between base and head.
type Action string

// Actions, in the order a reader wants them.
const (
	Added   Action = "added"
	Changed Action = "changed"
	Removed Action = "removed"
)

// Change is one object that differs between base and head.
type Change struct {
	// ID is Kind/namespace/name.
	ID string `json:"id"`
	// Kind, Namespace and Name of the object.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Action is added, changed or removed.
	Action Action `json:"action"`
	// Source is the file that declares the object at head (at base when removed).
	Source string `json:"source,omitempty"`
	// Diff is a unified diff of the object's YAML, base to head.
	Diff string `json:"diff"`
	// Base and Head are the object at each side; nil where it is absent.
	Base *unstructured.Unstructured `json:"-"`
	Head *unstructured.Unstructured `json:"-"`
}

// Summary counts changes by action.
type Summary struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
}

// Compare lists the objects that differ between base and head, in head's
// order (Namespaces first, then by kind, namespace and name), removed objects
// in base's order after them. Objects are compared by their YAML, so a change
// of the source annotation alone (a file moved) counts as a change.
func Compare(base, head manifest.Set) ([]Change, Summary, error) {
	var (
		changes []Change
		sum     Summary
	)
	baseIdx := base.Index()
	seen := make(map[string]bool, len(head))
	for _, h := range head {
		id := h.ID()
		seen[id] = true
		b, ok := baseIdx[id]
		if !ok {
			d, err := unified(id, nil, h)
			if err != nil {
				return nil, Summary{}, err
			}
			changes = append(changes, newChange(h, Added, d, nil, h.Unstructured))
			sum.Added++
			continue
		}
		d, err := unified(id, &b, h)
		if err != nil {
			return nil, Summary{}, err
		}
		if d == "" {
			sum.Unchanged++
			continue
		}
		changes = append(changes, newChange(h, Changed, d, b.Unstructured, h.Unstructured))
		sum.Changed++
	}
	for _, b := range base {
		if seen[b.ID()] {
			continue
		}
		d, err := unifiedRemoved(b)
		if err != nil {
			return nil, Summary{}, err
		}
		changes = append(changes, newChange(b, Removed, d, b.Unstructured, nil))
		sum.Removed++
	}
	return changes, sum, nil
}

func newChange(o manifest.Object, a Action, diff string, base, head *unstructured.Unstructured) Change {
	return Change{
		ID:        o.ID(),
		Kind:      o.GetKind(),
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
		Action:    a,
		Source:    o.Source,
		Diff:      diff,
		Base:      base,
		Head:      head,
	}
}

func lines(o *manifest.Object) ([]string, error) {
	if o == nil {
		return nil, nil
	}
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding YAML: %w", o.ID(), err)
	}
	return difflib.SplitLines(string(b)), nil
}

func unified(id string, base *manifest.Object, head manifest.Object) (string, error) {
	a, err := lines(base)
	if err != nil {
		return "", err
	}
	b, err := lines(&head)
	if err != nil {
		return "", err
	}
	return diff(id, a, b)
}

func unifiedRemoved(base manifest.Object) (string, error) {
	a, err := lines(&base)
	if err != nil {
		return "", err
	}
	return diff(base.ID(), a, nil)
}

func diff(id string, a, b []string) (string, error) {
	if slices.Equal(a, b) {
		return "", nil
	}
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: a, B: b,
		FromFile: "base/" + id, ToFile: "head/" + id,
		Context: 3,
	})
	if err != nil {
		return "", fmt.Errorf("%s: diffing: %w", id, err)
	}
	return strings.TrimRight(s, "\n") + "\n", nil
}

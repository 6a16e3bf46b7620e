package ui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// Object states on the detail page; each is a word and a badge class.
const (
	stateInSync  = "in sync"
	stateDrifted = "drifted"
	stateMissing = "missing"
	stateOutside = "not in inventory"
	statePruned  = "pruned"
)

// object is an inventory entry with its drift.
type object struct {
	ID    string
	State string // one of the state constants
	Class string
	// Fields are its drifted fields.
	Fields []fieldDrift
	// Notes are drift entries that are not about one field (missing).
	Notes []string
}

// fieldDrift is one drifted field, parsed from a status drift entry.
type fieldDrift struct {
	Path, Want, Have, Manager string
}

// driftEntry matches the field entries of status.drift.entries:
// "Kind/ns/name .spec.x: want 80, have 50 (kubectl-edit)", the manager
// optional. Want and have are JSON-ish values that may hold ", have " or
// parentheses themselves, so the split is done by parseDrift, not here.
var driftEntry = regexp.MustCompile(`^(\S+) (\S+): want (.*)$`)

// parseDrift splits one drift entry into the object's ID and the field,
// want, have and manager; ok is false for entries of another shape
// ("Kind/ns/name: missing (deleted from the cluster)").
func parseDrift(entry string) (id string, f fieldDrift, ok bool) {
	m := driftEntry.FindStringSubmatch(entry)
	if m == nil {
		return "", fieldDrift{}, false
	}
	id, f.Path = m[1], m[2]
	rest := m[3]
	i := strings.LastIndex(rest, ", have ")
	if i < 0 {
		return "", fieldDrift{}, false
	}
	f.Want, f.Have = rest[:i], rest[i+len(", have "):]
	// A manager is a last " (name)" with no space or parenthesis inside.
	if strings.HasSuffix(f.Have, ")") {
		if j := strings.LastIndex(f.Have, " ("); j >= 0 {
			if mgr := f.Have[j+2 : len(f.Have)-1]; mgr != "" && !strings.ContainsAny(mgr, " ()") {
				f.Have, f.Manager = f.Have[:j], mgr
			}
		}
	}
	return id, f, true
}

// entryID is the object ID a drift entry is about: its first word, without
// a trailing colon.
func entryID(entry string) string {
	id, _, _ := strings.Cut(entry, " ")
	return strings.TrimSuffix(id, ":")
}

// objectsOf pairs each inventory entry with the drift entries naming it;
// drift entries of objects outside the inventory come last.
func objectsOf(o *v1alpha1.IntentSync) []object {
	var entries []string
	if o.Status.Drift != nil {
		entries = o.Status.Drift.Entries
	}
	byID := map[string]*object{}
	var out []*object
	add := func(id, st, class string) *object {
		ob := &object{ID: id, State: st, Class: class}
		byID[id] = ob
		out = append(out, ob)
		return ob
	}
	if o.Status.Inventory != nil {
		for _, id := range o.Status.Inventory.Entries {
			add(id, stateInSync, "ready")
		}
	}
	for _, e := range entries {
		id := entryID(e)
		ob := byID[id]
		if ob == nil {
			ob = add(id, stateOutside, "unknown")
		}
		if _, f, ok := parseDrift(e); ok {
			ob.Fields = append(ob.Fields, f)
			if ob.State == stateInSync {
				ob.State, ob.Class = stateDrifted, "warn"
			}
			continue
		}
		ob.Notes = append(ob.Notes, strings.TrimPrefix(strings.TrimPrefix(e, id), ": "))
		if strings.Contains(e, ": missing") {
			ob.State, ob.Class = stateMissing, "failed"
		}
	}
	// Objects the last apply deleted because they left Git.
	for _, id := range lastPruned(o.Status.History) {
		if byID[id] == nil {
			ob := add(id, statePruned, "suspended")
			ob.Notes = []string{"deleted by the last apply: no longer in Git"}
		}
	}
	res := make([]object, len(out))
	for i, ob := range out {
		res[i] = *ob
	}
	return res
}

// lastPruned is what the last successful apply deleted (status names up
// to 20 of them).
func lastPruned(history []v1alpha1.Attempt) []string {
	for _, a := range history {
		if a.Result == v1alpha1.ReasonSynced {
			return a.Pruned
		}
	}
	return nil
}

// prunedCount is how many objects the last successful apply deleted, from
// its history message (the change set's summary, "… 2 deleted …"); 0 when
// none or unknown.
func prunedCount(history []v1alpha1.Attempt) int {
	for _, a := range history {
		if a.Result != v1alpha1.ReasonSynced {
			continue
		}
		for _, part := range strings.Split(a.Message, ", ") {
			if n, ok := strings.CutSuffix(part, " deleted"); ok {
				v, err := strconv.Atoi(n)
				if err == nil {
					return v
				}
			}
		}
		return 0
	}
	return 0
}

// maxUnmanagedPerList bounds what one list of one kind in one namespace
// shows of unmanaged objects; the page says when there were more.
const maxUnmanagedPerList = 50

// unmanagedObject is mesh config in one of an IntentSync's namespaces that
// Git does not manage.
type unmanagedObject struct {
	ID       string
	Managers []string
}

// unmanagedResult is what unmanaged found.
type unmanagedResult struct {
	Objects    []unmanagedObject
	Namespaces []string
	// Truncated is true when a list had more than Limit.
	Truncated bool
	Limit     int
}

// unmanaged lists the mesh kinds drift watches (meshkinds.UnmanagedGVKs)
// in the namespaces of o's inventory, metadata only, without meshintent's
// managed-by label and not in the inventory: what someone applied by hand,
// or another tool did. A kind whose CRD is not installed is skipped. It
// runs as the server's identity, so a page shows the names (never the
// content) of mesh objects in namespaces its IntentSync applies to.
func (s *Server) unmanaged(ctx context.Context, o *v1alpha1.IntentSync) (unmanagedResult, error) {
	res := unmanagedResult{Limit: maxUnmanagedPerList}
	if o.Status.Inventory == nil {
		return res, nil
	}
	inventory := map[string]bool{}
	for _, id := range o.Status.Inventory.Entries {
		inventory[id] = true
		if _, ns, _, ok := splitID(id); ok && !slices.Contains(res.Namespaces, ns) {
			res.Namespaces = append(res.Namespaces, ns)
		}
	}
	slices.Sort(res.Namespaces)
	notOurs, err := labels.Parse(manifest.ManagedByLabel + "!=" + manifest.ManagedByValue)
	if err != nil {
		return res, err
	}
	type job struct {
		ns  string
		gvk schema.GroupVersionKind
	}
	var jobs []job
	for _, ns := range res.Namespaces {
		for _, gvk := range meshkinds.UnmanagedGVKs() {
			jobs = append(jobs, job{ns, gvk})
		}
	}
	// One list per kind and namespace, a few at a time: a page waits for
	// the slowest, not for their sum.
	found := make([][]unmanagedObject, len(jobs))
	truncated := make([]bool, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, maxConcurrentLists)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			found[i], truncated[i], errs[i] = s.listUnmanaged(ctx, j.ns, j.gvk, notOurs, inventory)
		}()
	}
	wg.Wait()
	for i := range jobs {
		res.Objects = append(res.Objects, found[i]...)
		res.Truncated = res.Truncated || truncated[i]
	}
	slices.SortFunc(res.Objects, func(a, b unmanagedObject) int { return strings.Compare(a.ID, b.ID) })
	return res, errors.Join(errs...)
}

// maxConcurrentLists bounds the lists one page makes at once.
const maxConcurrentLists = 8

// listUnmanaged lists gvk in ns, metadata only, matching sel and not in
// inventory; truncated is true when there were more than
// maxUnmanagedPerList. A kind whose CRD is not installed has none.
func (s *Server) listUnmanaged(ctx context.Context, ns string, gvk schema.GroupVersionKind, sel labels.Selector, inventory map[string]bool) (out []unmanagedObject, truncated bool, err error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	err = s.reader.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}, client.Limit(maxUnmanagedPerList))
	switch {
	case apimeta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("listing %s in %s: %w", gvk.Kind, ns, err)
	}
	for _, u := range list.Items {
		id := gvk.Kind + "/" + ns + "/" + u.Name
		if inventory[id] {
			continue // unlabelled, yet applied by meshintent: drift's business
		}
		var managers []string
		for _, mf := range u.ManagedFields {
			if !slices.Contains(managers, mf.Manager) {
				managers = append(managers, mf.Manager)
			}
		}
		out = append(out, unmanagedObject{ID: id, Managers: managers})
	}
	return out, list.Continue != "", nil
}

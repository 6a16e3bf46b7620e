package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// pruneResult is the outcome for one inventory entry.
type pruneResult struct {
	from  Entry
	entry ChangeSetEntry
	err   error
}

// Prune removes the objects of the given inventory entries (usually
// Inventory.Stale) from the cluster:
//   - a Namespace is never deleted: meshintent's labels and annotations are
//     removed by applying an empty configuration as Options.FieldManager, so
//     labels that other managers also set stay (action LabelsRemoved);
//   - any other object is deleted (action Deleted), guarded by its UID.
//
// Objects already gone or of a kind the API server no longer serves are
// skipped, as are objects whose live copy lacks the
// app.kubernetes.io/managed-by=meshintent label: someone has taken them
// over. Namespaces are handled after everything else. Errors name the
// object and its source; the ChangeSet still lists every other entry.
func (m *Manager) Prune(ctx context.Context, entries []Entry) (*ChangeSet, error) {
	cs := &ChangeSet{}
	var errs []error
	for _, r := range m.prune(ctx, entries) {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		cs.Add(r.entry)
	}
	return cs, errors.Join(errs...)
}

func (m *Manager) prune(ctx context.Context, entries []Entry) []pruneResult {
	var objects, namespaces []Entry
	for _, e := range entries {
		if e.IsNamespace() {
			namespaces = append(namespaces, e)
		} else {
			objects = append(objects, e)
		}
	}
	results := make([]pruneResult, 0, len(entries))
	for _, stage := range [][]Entry{objects, namespaces} {
		rs := make([]pruneResult, len(stage))
		m.each(ctx, len(stage), func(ctx context.Context, i int) {
			rs[i] = m.pruneOne(ctx, stage[i])
		})
		results = append(results, rs...)
	}
	return results
}

func (m *Manager) pruneOne(ctx context.Context, e Entry) pruneResult {
	r := pruneResult{from: e, entry: ChangeSetEntry{ID: e.ID(), Object: e.ObjectRef, Source: e.Source}}
	fail := func(op string, err error) pruneResult {
		r.err = &ObjectError{ID: e.ID(), Object: e.ObjectRef, Source: e.Source, Op: op, Err: err}
		return r
	}
	skip := func(reason string) pruneResult {
		r.entry.Action, r.entry.Reason = Skipped, reason
		return r
	}

	live := e.empty()
	if err := m.client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			return skip("not found")
		case meta.IsNoMatchError(err):
			return skip("kind not served by the API server")
		default:
			return fail("reading live object failed", err)
		}
	}
	if live.GetLabels()[manifest.ManagedByLabel] != manifest.ManagedByValue {
		return skip(fmt.Sprintf("live object is not labelled %s=%s; left in place", manifest.ManagedByLabel, manifest.ManagedByValue))
	}

	if !e.IsNamespace() {
		uid := live.GetUID()
		err := m.client.Delete(ctx, live,
			client.Preconditions{UID: &uid},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			return fail("delete failed", err)
		}
		r.entry.Action = Deleted
		return r
	}

	// Applying nothing as our field manager removes every field only we own:
	// our labels and annotations. Labels other managers also set stay.
	ref := namespaceRef(e.Name)
	after := ref.metadata()
	if err := m.serverSideApply(ctx, ref.empty(), after, false, false); err != nil {
		return fail("removing labels failed", asConflict(err))
	}
	r.entry.Action = LabelsRemoved
	var kept []string
	for _, k := range e.Labels {
		if _, ok := after.GetLabels()[k]; ok {
			kept = append(kept, k)
		}
	}
	if len(kept) > 0 {
		r.entry.Reason = "kept labels other managers also set: " + strings.Join(kept, ", ")
	}
	return r
}

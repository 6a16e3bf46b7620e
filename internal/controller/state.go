package controller

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/canonical"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/source"
)

// syncState is what the controller keeps in memory about one IntentSync.
// None of it is needed for correctness after a restart: the next reconcile
// rebuilds it (the applied set by rendering the revision again).
type syncState struct {
	// mu serialises the sync and drift reconcilers of this IntentSync, so a
	// drift correction never races an apply of a new revision.
	mu sync.Mutex

	// current is applied, for other IntentSyncs' ownership checks, which
	// must not wait for mu.
	current atomic.Pointer[appliedSet]

	// cache keeps kustomize builds between renders of the repository.
	cache *render.Cache
	// applied is the set last applied (labelled as applied) and its
	// revision; nil until a reconcile has rendered or applied one.
	applied *appliedSet
	// stalled is the revision and generation last found bad by render or
	// policy; they are not rendered again until one of them changes.
	stalled stalledKey
	// failures counts consecutive transient failures, for the backoff.
	failures int
	// fetched is the revision last fetched and its commit's subject,
	// author and time, for the history and the status.
	fetched fetchedCommit
	// drift holds the last drift found per object ID; missing objects have
	// a nil entry with gone set.
	drift map[string]objectDrift
	// unmanaged is the number of unmanaged objects the last full check found.
	unmanaged int
	// corrected counts objects re-applied in correct mode since the last
	// apply of a new revision.
	corrected int
	// target is the cluster and identity of the last sync (fleet.go), which
	// the drift reconciler checks and corrects with; nil before it.
	target *target
	// changes counts the watch events of managed objects that someone else
	// changed or deleted (touch); checked holds its value at the last full
	// check.
	changes atomic.Int64
	// checked is the last full drift check or apply that found the
	// cluster as the applied set says; zero before one and after a failure.
	checked checkedMark

	// touched holds the IDs of managed objects changed by someone else since
	// the drift reconciler last ran; guarded by touchedMu, not mu, so the
	// watch handlers never wait for an apply.
	touchedMu sync.Mutex
	touched   map[string]bool
}

// appliedSet is a rendered set as it was (or would be) applied. It lives
// as long as its IntentSync, so the objects are kept in the canonical
// encoding (about a tenth of the memory of unstructured maps, which cost
// some 8 KiB per VirtualService) and decoded when used.
type appliedSet struct {
	revision   string
	generation int64
	objects    []packedObject
	ignore     []apply.IgnoreRule
}

// packedObject is one object of an appliedSet: its identity, its digest as
// applied (apply.Digest) and its encoding.
type packedObject struct {
	id, source, intent                string
	apiVersion, kind, namespace, name string
	digest                            string
	data                              []byte
}

// newAppliedSet encodes set. The encodings, and the strings of the objects'
// identities, are each laid out in one allocation: the set lives long, and
// thousands of small ones would be spread over the heap by the garbage of
// the reconcile that made them, keeping its pages resident.
func newAppliedSet(revision string, generation int64, set manifest.Set, ignore []apply.IgnoreRule) (*appliedSet, error) {
	a := &appliedSet{revision: revision, generation: generation, ignore: ignore, objects: make([]packedObject, len(set))}
	type span struct{ start, end int }
	const fields = 8 // id, source, intent, apiVersion, kind, namespace, name, digest
	var data []byte
	var text strings.Builder
	ends := make([]int, len(set))
	strs := make([][fields]span, len(set))
	for i, o := range set {
		var err error
		if data, err = canonical.Append(data, o.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", o.ID(), err)
		}
		ends[i] = len(data)
		digest, err := apply.Digest(o)
		if err != nil {
			return nil, err
		}
		for j, v := range [fields]string{o.ID(), o.Source, o.Intent, o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName(), digest} {
			start := text.Len()
			text.WriteString(v)
			strs[i][j] = span{start, text.Len()}
		}
	}
	data = bytes.Clone(data) // exactly sized
	all := strings.Clone(text.String())
	start := 0
	for i := range set {
		str := func(j int) string { return all[strs[i][j].start:strs[i][j].end] }
		a.objects[i] = packedObject{
			id: str(0), source: str(1), intent: str(2),
			apiVersion: str(3), kind: str(4), namespace: str(5), name: str(6),
			digest: str(7), data: data[start:ends[i]:ends[i]],
		}
		start = ends[i]
	}
	return a, nil
}

// lazy returns the objects whose ID keep accepts (all with a nil keep) as
// lazy objects (manifest.Object.Load): apply decodes only those whose live
// copy may differ. Namespaces, which apply needs in full, are decoded.
func (a *appliedSet) lazy(keep func(id string) bool) (manifest.Set, error) {
	return a.set(keep, true)
}

// decode returns the objects whose ID keep accepts (all with a nil keep),
// decoded, as a set of the caller's own.
func (a *appliedSet) decode(keep func(id string) bool) (manifest.Set, error) {
	return a.set(keep, false)
}

func (a *appliedSet) set(keep func(id string) bool, lazy bool) (manifest.Set, error) {
	var set manifest.Set
	for i := range a.objects {
		o := &a.objects[i]
		if keep != nil && !keep(o.id) {
			continue
		}
		if lazy && (o.apiVersion != "v1" || o.kind != "Namespace") {
			stub := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": o.apiVersion, "kind": o.kind,
				"metadata": map[string]any{"namespace": o.namespace, "name": o.name},
			}}
			set = append(set, manifest.Object{Unstructured: stub, Source: o.source, Intent: o.intent, Digest: o.digest, Load: o.decode})
			continue
		}
		u, err := o.decode()
		if err != nil {
			return nil, err
		}
		set = append(set, manifest.Object{Unstructured: u, Source: o.source, Intent: o.intent})
	}
	return set, nil
}

// decode returns the object in full, a copy of the caller's own.
func (o *packedObject) decode() (*unstructured.Unstructured, error) {
	v, err := canonical.Decode(o.data)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, fmt.Errorf("decoding the applied %s: %w", o.id, err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// ids returns the IDs of the objects, in order.
func (a *appliedSet) ids() []string {
	ids := make([]string, len(a.objects))
	for i, o := range a.objects {
		ids[i] = o.id
	}
	return ids
}

// setApplied makes a the applied set.
func (st *syncState) setApplied(a *appliedSet) {
	st.applied = a
	st.current.Store(a)
}

// has reports whether the set holds the object of ID id.
func (a *appliedSet) has(id string) bool {
	for i := range a.objects {
		if a.objects[i].id == id {
			return true
		}
	}
	return false
}

// stalledKey identifies a revision judged bad for a spec generation.
type stalledKey struct {
	revision   string
	generation int64
	reason     string
	message    string
}

// objectDrift is what apply.Manager.Drift found of one object, grouped by
// object so that a check of some objects replaces only their entries: the
// drifted fields as it gave them, and whether the object is missing.
type objectDrift struct {
	fields  []apply.FieldDiff
	missing bool
}

// checkedMark is a full check of one applied set, in one cluster as one
// identity (the target's apply.Manager), and the watch's count of changes
// when it started.
type checkedMark struct {
	set     *appliedSet
	apply   *apply.Manager
	changes int64
	at      time.Time
}

// fullCheckPolls is how many poll intervals a sync may go on the watch's
// word that nothing changed before it checks in full again: the watch sees
// managed objects only, so an unmanaged object made meanwhile is found by
// that check.
const fullCheckPolls = 5

// unchanged reports whether a sync of built through tg can skip the drift
// check and the re-apply: built is the applied set of the last full check
// (same revision and spec generation), in the same cluster as the same
// identity, the watch has seen no one change or delete an object of it
// since that check started, and the check is younger than maxAge.
func (s *syncState) unchanged(built *appliedSet, tg *target, now time.Time, maxAge time.Duration) bool {
	c := s.checked
	return c.set != nil && c.set == built && s.applied == built && c.apply == tg.apply &&
		s.changes.Load() == c.changes && now.Sub(c.at) < maxAge
}

// markChecked records a full check (or apply) of the applied set through
// tg, begun when the watch's count of changes was changes.
func (s *syncState) markChecked(tg *target, changes int64, at time.Time) {
	s.checked = checkedMark{set: s.applied, apply: tg.apply, changes: changes, at: at}
}

// touch records that a managed object changed.
func (s *syncState) touch(id string) {
	s.changes.Add(1)
	s.touchedMu.Lock()
	defer s.touchedMu.Unlock()
	if s.touched == nil {
		s.touched = map[string]bool{}
	}
	s.touched[id] = true
}

// takeTouched returns and clears the touched object IDs.
func (s *syncState) takeTouched() map[string]bool {
	s.touchedMu.Lock()
	defer s.touchedMu.Unlock()
	t := s.touched
	s.touched = nil
	return t
}

// stateStore holds the syncState of every IntentSync seen.
type stateStore struct {
	mu     sync.Mutex
	states map[types.NamespacedName]*syncState
}

func newStateStore() *stateStore {
	return &stateStore{states: map[types.NamespacedName]*syncState{}}
}

// get returns the state of key, creating it.
func (s *stateStore) get(key types.NamespacedName) *syncState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[key]
	if !ok {
		st = &syncState{cache: render.NewCache(), drift: map[string]objectDrift{}}
		s.states[key] = st
	}
	return st
}

// lookup returns the state of key, or nil when there is none.
func (s *stateStore) lookup(key types.NamespacedName) *syncState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.states[key]
}

// forget drops the state of a deleted IntentSync.
func (s *stateStore) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.states, key)
}

// fetchedCommit is a fetched revision and what people read of its commit.
type fetchedCommit struct {
	revision string
	commit   *v1alpha1.CommitInfo
}

// commitOf is the CommitInfo of revision when it is the one last fetched,
// else nil.
func (f fetchedCommit) commitOf(revision string) *v1alpha1.CommitInfo {
	if revision == "" || revision != f.revision || f.commit == nil {
		return nil
	}
	c := *f.commit
	return &c
}

// commitInfo is the CommitInfo of a fetched artifact, its subject capped;
// nil when the fetch could not say.
func commitInfo(m source.CommitMeta) *v1alpha1.CommitInfo {
	if m.Subject == "" && m.Author == "" {
		return nil
	}
	c := &v1alpha1.CommitInfo{Subject: truncate(m.Subject, commitSubjectLimit), Author: truncate(m.Author, commitSubjectLimit)}
	if !m.Time.IsZero() {
		c.Time = &metav1.Time{Time: m.Time}
	}
	return c
}

// commitSubjectLimit caps a commit's subject and author name in status.
const commitSubjectLimit = 200

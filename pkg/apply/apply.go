package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// DefaultInventoryName is the inventory ConfigMap DefaultApplyOptions uses.
const DefaultInventoryName = "meshintent"

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Force takes over fields that other field managers own with different
	// values (server-side apply force). Without it such fields make the
	// dry-run fail with a *ConflictError naming the managers and fields,
	// and nothing is applied.
	Force bool
	// CreateNamespaces creates namespaces the set needs that do not exist:
	// those of Namespace objects (with only meshintent's labels) and those
	// other objects live in. Without it a missing namespace fails the
	// dry-run with a *NamespaceMissingError.
	CreateNamespaces bool
	// Prune deletes objects recorded in the inventory that are no longer in
	// the set, and removes meshintent's labels and annotations from such
	// Namespaces (never deleting them). It needs Inventory.
	Prune bool
	// AllowEmpty lets Prune act when the set is empty, which deletes
	// everything in the inventory. Without it Apply refuses with ErrEmptySet,
	// as an empty render is more likely a mistake than an intent.
	AllowEmpty bool
	// Inventory is the name of the inventory ConfigMap read before and
	// written after applying; empty means no inventory is kept.
	Inventory string
	// Revision is recorded in the inventory, e.g. the Git commit applied.
	Revision string
	// DryRun stops after the server-side dry-run: the Result says what Apply
	// would create, configure and prune, and nothing is written (not even
	// the inventory or missing namespaces).
	DryRun bool
}

// DefaultApplyOptions returns options that apply without force, without
// creating namespaces and without pruning, recording the inventory
// DefaultInventoryName.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{Inventory: DefaultInventoryName}
}

// Result is what Apply did.
type Result struct {
	// ChangeSet has an entry per object applied (Namespaces first) and per
	// object pruned.
	ChangeSet ChangeSet `json:"changeSet"`
	// Inventory is the inventory as written, nil when none is kept.
	Inventory *Inventory `json:"inventory,omitempty"`
}

// planned is one object on its way through Apply.
type planned struct {
	obj      manifest.Object // prepared copy, or the lazy object until load
	digest   string          // of the prepared object
	lazy     bool            // obj is lazy: load before use beyond its ref
	scratch  *[]byte
	ref      ObjectRef
	ns       string    // the namespace that must exist first
	live     liveState // what the metadata lists told of the live object
	deferred bool      // in a namespace that is created by this Apply
	blocked  bool      // in a namespace that is missing
	action   Action
	err      *ObjectError
}

// load replaces a lazy object by its prepared full copy.
func (p *planned) load() error {
	if !p.lazy {
		return nil
	}
	u, err := p.obj.Load()
	if err != nil {
		return fmt.Errorf("%s: loading: %w", p.ref.ID(), err)
	}
	obj, err := prepare(manifest.Object{Unstructured: u, Source: p.obj.Source, Intent: p.obj.Intent}, p.scratch)
	if err != nil {
		return err
	}
	p.obj, p.digest, p.lazy = obj, obj.GetAnnotations()[DigestAnnotation], false
	return nil
}

// loadChanged loads the lazy objects of ps that are not Unchanged.
func loadChanged(ps []*planned) error {
	for _, p := range ps {
		if p.action != Unchanged {
			if err := p.load(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *planned) fail(op string, err error) {
	p.err = &ObjectError{ID: p.ref.ID(), Object: p.ref, Source: p.obj.Source, Op: op, Err: err}
}

func (p *planned) entry() ChangeSetEntry {
	return ChangeSetEntry{ID: p.ref.ID(), Object: p.ref, Source: p.obj.Source, Action: p.action}
}

// Apply puts set onto the cluster with server-side apply as field manager
// Options.FieldManager:
//
//  1. Every object is dry-run (in parallel, bounded by Concurrency), so the
//     API server validates it against its schema, including the Istio CRDs'.
//     If any fails, or a needed namespace is missing, nothing is written and
//     the error is a *DryRunError listing each failure with its source file.
//     An object the metadata lists do not find is not read: a dry-run that
//     creates it says it is new (a first apply costs two requests an object).
//  2. Namespaces are applied first, then everything else. A Namespace is
//     applied as apiVersion, kind, name and the set's labels and annotations
//     only, so other owners' labels and annotations are never touched.
//  3. Objects whose dry-run result equals the live object are not written
//     (action Unchanged), so a re-apply of the same set makes no writes and
//     moves no resourceVersion.
//  4. With Prune, objects in the previous inventory but not in set are
//     pruned (see Prune).
//  5. The inventory is written when opts.Inventory is set. Objects it
//     lacks are added to it before anything else is written, so that an
//     apply cut short (the process killed, the API server gone) leaves
//     every object it may have created on record for a later prune.
//
// Objects get the app.kubernetes.io/managed-by=meshintent label when they
// lack it. set is not modified. On a failure after writes began, Apply
// returns the Result so far with the error, and the inventory keeps every
// object that may exist.
func (m *Manager) Apply(ctx context.Context, set manifest.Set, opts ApplyOptions) (*Result, error) {
	if opts.Prune && opts.Inventory == "" {
		return nil, errors.New("prune needs an inventory: set ApplyOptions.Inventory")
	}
	ps, err := plan(set)
	if err != nil {
		return nil, err
	}

	// Read the previous inventory before anything is written.
	var old *Inventory
	if opts.Inventory != "" {
		if old, err = m.ReadInventory(ctx, opts.Inventory); err != nil {
			return nil, err
		}
		if opts.Prune && len(set) == 0 && !opts.AllowEmpty && len(old.Entries) > 0 {
			return nil, fmt.Errorf("refusing to prune all %s of inventory %s/%s: %w; allow empty sets to do this",
				plural(len(old.Entries), "object"), old.Namespace, old.Name, ErrEmptySet)
		}
	}

	// Check the namespaces the set needs.
	missing, nsFailures, err := m.checkNamespaces(ctx, ps, opts.CreateNamespaces)
	if err != nil {
		return nil, err
	}

	// Dry-run every object that can be validated now.
	var now []*planned
	for _, p := range ps {
		if !p.deferred && !p.blocked {
			now = append(now, p)
		}
	}
	// Objects whose live copy carries our last configuration and nobody
	// else's changes need no dry-run: a no-op apply stays cheap. Lazy
	// objects are loaded only when they are not such.
	m.markUnchanged(ctx, now)
	if err := loadChanged(ps); err != nil {
		return nil, err
	}
	m.dryRun(ctx, now, opts.Force)
	if err := cancelled(ctx, "any write"); err != nil {
		return nil, err
	}
	if failures := append(nsFailures, failed(now)...); len(failures) > 0 {
		return nil, &DryRunError{Failures: failures, Total: len(ps)}
	}

	res := &Result{}
	if opts.DryRun {
		for _, p := range ps {
			e := p.entry()
			if p.deferred {
				// Its namespace does not exist yet, so the server cannot
				// validate it before the namespace is created.
				e.Action, e.Reason = Created, "in a namespace that would be created; validated at apply time"
			}
			res.ChangeSet.Add(e)
		}
		if opts.Prune && old != nil {
			for _, stale := range old.Stale(set) {
				e := ChangeSetEntry{ID: stale.ID(), Object: stale.ObjectRef, Source: stale.Source, Action: Deleted, Reason: "left Git"}
				if stale.IsNamespace() {
					e.Action, e.Reason = LabelsRemoved, "left Git; the namespace stays"
				}
				res.ChangeSet.Add(e)
			}
		}
		return res, nil
	}
	// merged is the previous inventory plus the set: everything that may
	// exist once writes begin.
	merged := func() *Inventory {
		inv := &Inventory{Name: old.Name, Revision: old.Revision, Entries: append([]Entry(nil), old.Entries...)}
		inv.add(NewInventory(opts.Inventory, opts.Revision, set).Entries...)
		return inv
	}
	// Record the objects about to be created before writing anything, so
	// that those created by an apply that never finishes (the process
	// killed, the API server gone before finish could write) are still found
	// by a later prune. add only appends for objects not yet recorded.
	if opts.Inventory != "" {
		if ahead := merged(); len(ahead.Entries) > len(old.Entries) {
			if _, err := m.WriteInventory(ctx, ahead); err != nil {
				return res, err
			}
		}
	}
	// finish records the inventory after a failure: everything that may now
	// exist stays recorded so a later prune can still find it.
	finish := func(applyErr error) (*Result, error) {
		if opts.Inventory == "" {
			return res, applyErr
		}
		inv := merged()
		if _, err := m.WriteInventory(ctx, inv); err != nil {
			return res, errors.Join(applyErr, err)
		}
		res.Inventory = inv
		return res, applyErr
	}

	// Apply the Namespaces.
	var nsStage, meshStage []*planned
	for _, p := range ps {
		if isNamespace(p.obj.Unstructured) {
			nsStage = append(nsStage, p)
		} else {
			meshStage = append(meshStage, p)
		}
	}
	if err := cancelled(ctx, "the Namespaces"); err != nil {
		return res, err
	}
	created, err := m.createNamespaces(ctx, missing, ps, &res.ChangeSet)
	if err != nil {
		return finish(err)
	}
	m.applyStage(ctx, nsStage, opts.Force, &res.ChangeSet)
	if err := cancelled(ctx, "validating objects in new namespaces"); err != nil {
		return res, err
	}
	if errs := failed(nsStage); len(errs) > 0 {
		return finish(joinObjectErrors(errs))
	}

	// Validate the objects in namespaces created above.
	var later []*planned
	for _, p := range ps {
		if p.deferred {
			later = append(later, p)
		}
	}
	m.dryRun(ctx, later, opts.Force)
	if err := cancelled(ctx, "the mesh configuration"); err != nil {
		return res, err
	}
	if failures := failed(later); len(failures) > 0 {
		return finish(&DryRunError{Failures: failures, Total: len(ps), NamespacesCreated: created})
	}

	// Apply the mesh configuration.
	m.applyStage(ctx, meshStage, opts.Force, &res.ChangeSet)
	if err := cancelled(ctx, "pruning"); err != nil {
		return res, err
	}
	if errs := failed(meshStage); len(errs) > 0 {
		return finish(joinObjectErrors(errs))
	}

	if opts.Inventory == "" {
		return res, nil
	}
	inv := NewInventory(opts.Inventory, opts.Revision, set)
	if opts.Prune {
		// Prune what left Git; keep what could not be pruned on record.
		results := m.prune(ctx, old.Stale(set))
		var errs []error
		for _, r := range results {
			res.ChangeSet.Add(r.entry)
			if r.err != nil {
				errs = append(errs, r.err)
				inv.add(r.from)
			}
		}
		if len(errs) > 0 {
			if _, err := m.WriteInventory(ctx, inv); err != nil {
				errs = append(errs, err)
			}
			res.Inventory = inv
			return res, errors.Join(errs...)
		}
	} else {
		// Without prune, objects that left Git are still in the cluster.
		inv.add(old.Stale(set)...)
	}
	if _, err := m.WriteInventory(ctx, inv); err != nil {
		return res, err
	}
	res.Inventory = inv
	return res, nil
}

// cancelled returns, once ctx is done, the error with which Apply stops
// before the named stage, and nil before that: no stage starts after a
// cancel (a signal, the controller stopping). Stopping between stages needs
// no inventory write: the inventory written before the first write already
// records every object that may exist. The error wraps ctx's cause and
// ctx.Err(), so errors.Is(err, context.Canceled) holds whatever the cause.
func cancelled(ctx context.Context, before string) error {
	if ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(ctx); !errors.Is(cause, ctx.Err()) {
		return fmt.Errorf("apply cancelled before %s: %w (%w)", before, cause, ctx.Err())
	}
	return fmt.Errorf("apply cancelled before %s: %w", before, context.Cause(ctx))
}

// plan prepares and sorts copies of the set's objects and rejects duplicates.
func plan(set manifest.Set) ([]*planned, error) {
	sorted := make(manifest.Set, len(set))
	copy(sorted, set)
	sorted.Sort()
	seen := make(map[string]string, len(set))
	ps := make([]*planned, 0, len(set))
	scratch := new([]byte)
	for _, o := range sorted {
		if o.Unstructured == nil {
			return nil, fmt.Errorf("%s: nil object in set", o.Source)
		}
		p := &planned{ref: RefOf(o.Unstructured), scratch: scratch}
		if o.Lazy() && !isNamespace(o.Unstructured) {
			p.obj, p.digest, p.lazy = o, o.Digest, true
		} else {
			obj, err := prepare(o, scratch)
			if err != nil {
				return nil, err
			}
			p.obj, p.digest = obj, obj.GetAnnotations()[DigestAnnotation]
		}
		if src, dup := seen[p.ref.key()]; dup {
			return nil, fmt.Errorf("%s: declared twice, in %s and %s", p.ref.ID(), src, o.Source)
		}
		seen[p.ref.key()] = o.Source
		if isNamespace(o.Unstructured) {
			p.ns = o.GetName()
		} else {
			p.ns = o.GetNamespace()
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// prepare returns the copy of o that is applied: a Namespace reduced to
// apiVersion, kind, name, labels and annotations; every object labelled
// app.kubernetes.io/managed-by=meshintent and annotated with its digest.
// scratch is reused for the digest's encoding.
func prepare(o manifest.Object, scratch *[]byte) (manifest.Object, error) {
	var u *unstructured.Unstructured
	if isNamespace(o.Unstructured) {
		u = &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(o.GetName())
		if a := o.GetAnnotations(); len(a) > 0 {
			u.SetAnnotations(a)
		}
		u.SetLabels(o.GetLabels())
	} else {
		// Only metadata changes below: the spec is shared with o, and
		// nothing in Apply writes to it (requests are made from deep copies).
		u = manifest.MetadataCopy(o.Unstructured)
	}
	// The label and the digest are set on the maps directly: the getters
	// and setters of unstructured convert and copy each map, which a no-op
	// apply of thousands of objects would feel.
	meta, ok := u.Object["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		u.Object["metadata"] = meta
	}
	labels, _ := meta["labels"].(map[string]any)
	labels = maps.Clone(labels) // shared with o
	if labels == nil {
		labels = make(map[string]any, 1)
	}
	labels[manifest.ManagedByLabel] = manifest.ManagedByValue
	meta["labels"] = labels
	return manifest.Object{Unstructured: u, Source: o.Source, Intent: o.Intent}, setDigest(u, scratch)
}

// Digest returns the digest meshintent applies o with (the
// meshintent.io/applied-digest annotation), for making o lazy (see
// manifest.Object.Digest).
func Digest(o manifest.Object) (string, error) {
	obj, err := prepare(o, new([]byte))
	if err != nil {
		return "", err
	}
	return obj.GetAnnotations()[DigestAnnotation], nil
}

// checkNamespaces finds the namespaces the set needs that do not exist.
// Without create, each is a failure and the objects in it are blocked;
// with create, the non-Namespace objects in it are deferred until it exists.
func (m *Manager) checkNamespaces(ctx context.Context, ps []*planned, create bool) (missing []string, failures []*ObjectError, err error) {
	var names []string
	first := map[string]*planned{}
	for _, p := range ps {
		if p.ns == "" {
			continue
		}
		if f, ok := first[p.ns]; !ok {
			names = append(names, p.ns)
			first[p.ns] = p
		} else if isNamespace(p.obj.Unstructured) && !isNamespace(f.obj.Unstructured) {
			first[p.ns] = p // attribute the failure to the Namespace's own file
		}
	}
	exists := make([]bool, len(names))
	errs := make([]error, len(names))
	m.each(ctx, len(names), func(ctx context.Context, i int) {
		ns := namespaceRef(names[i]).empty()
		err := m.client.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		switch {
		case err == nil:
			exists[i] = true
		case !apierrors.IsNotFound(err):
			errs[i] = fmt.Errorf("Namespace/%s: reading namespace: %w", names[i], err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	isMissing := map[string]bool{}
	for i, name := range names {
		if exists[i] {
			continue
		}
		isMissing[name] = true
		missing = append(missing, name)
		if !create {
			f := first[name]
			ref := namespaceRef(name)
			failures = append(failures, &ObjectError{ID: ref.ID(), Object: ref, Source: f.obj.Source, Err: &NamespaceMissingError{Namespace: name}})
		}
	}
	for _, p := range ps {
		if !isMissing[p.ns] {
			continue
		}
		switch {
		case !create:
			p.blocked = true
		case !isNamespace(p.obj.Unstructured):
			p.deferred = true
		}
	}
	return missing, failures, nil
}

// createNamespaces creates the missing namespaces that the set has no
// Namespace object for (those it has are created by applying them).
func (m *Manager) createNamespaces(ctx context.Context, missing []string, ps []*planned, cs *ChangeSet) ([]string, error) {
	inSet := map[string]bool{}
	source := map[string]string{}
	for _, p := range ps {
		if isNamespace(p.obj.Unstructured) {
			inSet[p.ns] = true
		}
		if _, ok := source[p.ns]; !ok {
			source[p.ns] = p.obj.Source
		}
	}
	var created []string
	for _, name := range missing {
		created = append(created, name)
		if inSet[name] {
			continue
		}
		ref := namespaceRef(name)
		if err := m.ensureNamespace(ctx, name); err != nil {
			return created, &ObjectError{ID: ref.ID(), Object: ref, Source: source[name], Err: err}
		}
		cs.Add(ChangeSetEntry{ID: ref.ID(), Object: ref, Source: source[name], Action: Created})
	}
	return created, nil
}

func namespaceRef(name string) ObjectRef {
	return ObjectRef{Version: "v1", Kind: "Namespace", Name: name}
}

// dryRun reads each object and dry-runs its apply, setting its action
// (Created, Configured or Unchanged) or its error.
func (m *Manager) dryRun(ctx context.Context, ps []*planned, force bool) {
	m.each(ctx, len(ps), func(ctx context.Context, i int) {
		p := ps[i]
		if p.action == Unchanged {
			return
		}
		if p.live == liveAbsent {
			// Most likely a new object: its dry-run alone tells, as the
			// server gives a dry-run create no resourceVersion, and spares
			// the read of a first apply. Only the metadata is decoded.
			dry := p.ref.metadata()
			if err := m.serverSideApply(ctx, p.obj.Unstructured, dry, force, true); err != nil {
				p.fail("dry-run failed", asConflict(err))
				return
			}
			if dry.GetResourceVersion() == "" {
				p.action = Created
				return
			}
			// It exists after all (unlabelled, or created since the list):
			// compare as below.
		}
		live := p.ref.empty()
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			if !apierrors.IsNotFound(err) {
				p.fail("reading live object failed", err)
				return
			}
			live = nil
		}
		// A new object's result has nothing to be compared with: only its
		// error matters.
		var dry *unstructured.Unstructured
		var into client.Object = p.ref.metadata()
		if live != nil {
			dry = p.ref.empty()
			into = dry
		}
		if err := m.serverSideApply(ctx, p.obj.Unstructured, into, force, true); err != nil {
			p.fail("dry-run failed", asConflict(err))
			return
		}
		switch {
		case live == nil:
			p.action = Created
		case sameObject(live, dry):
			p.action = Unchanged
		default:
			p.action = Configured
		}
	})
}

// applyStage applies the objects whose dry-run showed a change and adds an
// entry per object to cs, in order; failures are left in each p.err.
func (m *Manager) applyStage(ctx context.Context, ps []*planned, force bool, cs *ChangeSet) {
	m.each(ctx, len(ps), func(ctx context.Context, i int) {
		p := ps[i]
		if p.action == Unchanged {
			return
		}
		// The dry-run has validated this very body (and reported its
		// warnings): the server need not decode it strictly again.
		if err := m.serverSideApply(ctx, p.obj.Unstructured, p.ref.metadata(), force, false, client.FieldValidation(metav1.FieldValidationIgnore)); err != nil {
			p.fail("apply failed", asConflict(err))
		}
	})
	for _, p := range ps {
		if p.err == nil {
			cs.Add(p.entry())
		}
	}
}

// serverSideApply applies u as the Manager's field manager (force takes
// over fields other managers own; dryRun writes nothing) and decodes the
// server's response into into, an empty object of u's kind, namespace and
// name: a *metav1.PartialObjectMetadata (ObjectRef.metadata) when only the
// response's metadata or error matters, which spares decoding the whole
// object. On a first apply of thousands of objects, the decoded responses
// were the largest share of the garbage, which left the heap fragmented
// long after. extra options are added to the request's.
func (m *Manager) serverSideApply(ctx context.Context, u *unstructured.Unstructured, into client.Object, force, dryRun bool, extra ...client.PatchOption) error {
	body, err := u.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding %s: %w", RefOf(u).ID(), err)
	}
	opts := append([]client.PatchOption{client.FieldOwner(m.opts.FieldManager)}, extra...)
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return m.client.Patch(ctx, into, client.RawPatch(types.ApplyPatchType, body), opts...)
}

// sameObject compares a live object with a dry-run result, ignoring what
// every write changes: resourceVersion, generation and managedFields times.
func sameObject(live, dry *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(withoutVolatile(live), withoutVolatile(dry))
}

func withoutVolatile(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(c.Object, "metadata", "generation")
	if mf, ok, _ := unstructured.NestedSlice(c.Object, "metadata", "managedFields"); ok {
		for _, e := range mf {
			if em, ok := e.(map[string]any); ok {
				delete(em, "time")
			}
		}
		_ = unstructured.SetNestedSlice(c.Object, mf, "metadata", "managedFields")
	}
	return c.Object
}

func failed(ps []*planned) []*ObjectError {
	var errs []*ObjectError
	for _, p := range ps {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	return errs
}

func joinObjectErrors(errs []*ObjectError) error {
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

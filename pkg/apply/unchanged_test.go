package apply_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// calls counts the requests a countingClient made, by kind.
type calls struct{ applies, gets, lists, listed atomic.Int64 }

func (c *calls) reset() {
	c.applies.Store(0)
	c.gets.Store(0)
	c.lists.Store(0)
	c.listed.Store(0)
}

// countingClient returns a client of the test API server that counts its
// applies, reads, lists and the objects listed.
func countingClient(t *testing.T) (client.WithWatch, *calls) {
	t.Helper()
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	n := &calls{}
	return interceptor.NewClient(base, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if patch.Type() == types.ApplyPatchType {
				n.applies.Add(1)
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			n.gets.Add(1)
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			n.lists.Add(1)
			if err := c.List(ctx, list, opts...); err != nil {
				return err
			}
			n.listed.Add(int64(meta.LenList(list)))
			return nil
		},
	}), n
}

// createByHand creates, as kubectl-create, object i of benchSet(ns, 1)
// renamed to name: without meshintent's labels and annotations unless
// labelled.
func createByHand(t *testing.T, ns string, i int, name string, labelled bool) {
	t.Helper()
	o := benchSet(ns, 1)[i].DeepCopy()
	o.SetName(name)
	if !labelled {
		o.SetLabels(nil)
		o.SetAnnotations(nil)
	}
	if err := env.Client.Create(context.Background(), o, client.FieldOwner("kubectl-create")); err != nil {
		t.Fatal(err)
	}
}

// TestNoOpApplySkipsDryRuns checks that a re-apply of an unchanged set reads
// lists instead of reading and dry-running each object, and that an object
// someone else edited is still dry-run and re-applied.
func TestNoOpApplySkipsDryRuns(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := load(t, "bookinfo.yaml", ns)
	counting, n := countingClient(t)
	m := apply.NewManager(counting, apply.DefaultOptions())
	opts := apply.ApplyOptions{Inventory: ns}
	mustApply(t, m, set, opts)

	t.Run("an unchanged set dry-runs only the namespace, which other managers touched", func(t *testing.T) {
		n.reset()
		reapplyUnchanged(t, m, set, opts)
		// The Namespace was created by the test, so it has another manager
		// and takes the careful path: one read and one dry-run.
		if got := n.applies.Load(); got != 1 {
			t.Errorf("%d server-side applies (dry-run or not), want 1 (the Namespace's dry-run)", got)
		}
		// Reads do not grow with the set: the Namespace (checked, then
		// dry-run) and the inventory (read, then compared before writing).
		if got := n.gets.Load(); got > 4 {
			t.Errorf("%d object reads, want at most 4", got)
		}
	})

	t.Run("an object another manager edited is dry-run and taken back with force", func(t *testing.T) {
		vs := set[len(set)-1].DeepCopy() // the last object is a VirtualService in this fixture
		if vs.GetKind() != "VirtualService" {
			t.Fatalf("fixture order changed: last object is %s", vs.GetKind())
		}
		live := vs.DeepCopy()
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			t.Fatal(err)
		}
		live.SetManagedFields(nil)
		spec := live.Object["spec"].(map[string]any)
		spec["hosts"] = []any{"edited-by-hand"}
		if err := env.Client.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		force := opts
		force.Force = true
		res, err := m.Apply(ctx, set, force)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.ChangeSet.Count(apply.Configured); got != 1 {
			t.Errorf("%d objects configured, want 1:\n%s", got, res.ChangeSet.String())
		}
	})
}

// TestDriftReadsOnlyTouchedObjects checks that a drift check of a large set
// lists metadata and reads only the objects someone else touched, and
// still finds every kind of drift.
func TestDriftReadsOnlyTouchedObjects(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := benchSet(ns, 10) // 10 VirtualServices and 10 DestinationRules
	counting, n := countingClient(t)
	m := apply.NewManager(counting, apply.DefaultOptions())
	if _, err := m.Apply(ctx, set, apply.ApplyOptions{Inventory: ns}); err != nil {
		t.Fatal(err)
	}
	dopts := apply.DriftOptions{Inventory: ns, MeshKinds: apply.DefaultMeshKinds}

	n.reset()
	r, err := m.Drift(ctx, set, dopts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Drifted) + len(r.Missing) + len(r.Unmanaged) + len(r.Stale); n != 0 {
		t.Errorf("untouched set: %d findings, want none: %+v", n, r)
	}
	if got := n.gets.Load(); got > 1 {
		t.Errorf("untouched set: %d reads, want only the inventory's", got)
	}

	// Someone edits a VirtualService, deletes a DestinationRule and adds a
	// VirtualService of their own.
	vs := find(t, set, "VirtualService")
	editWeights(t, vs, 50, 50)
	dr := find(t, set, "DestinationRule")
	if err := env.Client.Delete(ctx, dr.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	createByHand(t, ns, 0, "by-hand", false) // a VirtualService

	n.reset()
	r, err = m.Drift(ctx, set, dopts)
	if err != nil {
		t.Fatal(err)
	}
	var drifted []string
	for _, d := range r.Drifted {
		drifted = append(drifted, d.ID+d.Path+" by "+d.Manager)
	}
	wantDrift := []string{
		vs.ID() + ".spec.http[0].route[0].weight by kubectl-edit",
		vs.ID() + ".spec.http[0].route[1].weight by kubectl-edit",
	}
	if diff := cmp.Diff(wantDrift, drifted); diff != "" {
		t.Errorf("drifted fields (-want +got):\n%s", diff)
	}
	if len(r.Missing) != 1 || r.Missing[0].ID != dr.ID() {
		t.Errorf("missing = %+v, want %s", r.Missing, dr.ID())
	}
	if len(r.Unmanaged) != 1 || r.Unmanaged[0].ID != "VirtualService/"+ns+"/by-hand" ||
		!slices.Contains(r.Unmanaged[0].Managers, "kubectl-create") {
		t.Errorf("unmanaged = %+v, want VirtualService/%s/by-hand made by kubectl-create", r.Unmanaged, ns)
	}
	// The inventory, the edited and the deleted object.
	if got := n.gets.Load(); got > 3 {
		t.Errorf("%d reads, want 3: the inventory and the two touched objects", got)
	}
}

// TestMetadataReaderAnswersTheLists checks that with a MetadataReader (a
// controller's cache) a no-op apply lists nothing from the client it writes
// through, and that what the reader shows decides which objects are passed
// over.
func TestMetadataReaderAnswersTheLists(t *testing.T) {
	ns := env.Namespace(t)
	set := benchSet(ns, 10)
	writer, direct := countingClient(t)
	reader, cached := countingClient(t)
	m := apply.NewManager(writer, apply.Options{MetadataReader: reader})
	opts := apply.ApplyOptions{Inventory: ns}
	mustApply(t, m, set, opts)
	direct.reset()
	cached.reset()
	reapplyUnchanged(t, m, set, opts)
	if got := direct.lists.Load(); got != 0 {
		t.Errorf("%d lists through the writing client, want 0", got)
	}
	if got := cached.lists.Load(); got != 2 { // VirtualServices and DestinationRules
		t.Errorf("%d lists through the metadata reader, want 2", got)
	}

	// An edit the reader shows is dry-run and reverted.
	vs := find(t, set, "VirtualService")
	editWeights(t, vs, 50, 50)
	force := opts
	force.Force = true
	res := mustApply(t, m, set, force)
	if got := actions(res.ChangeSet)[vs.ID()]; got != apply.Configured {
		t.Errorf("%s: %s, want %s", vs.ID(), got, apply.Configured)
	}
}

// TestUnmanagedSearchListsOnlyOthersObjects checks that a drift check with
// a MetadataReader gets only the objects without meshintent's label from
// the API server, its own from the reader, and still finds both kinds of
// unmanaged object: one made by hand, and one labelled as meshintent's but
// in no inventory.
func TestUnmanagedSearchListsOnlyOthersObjects(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := benchSet(ns, 10)
	writer, direct := countingClient(t)
	reader, cached := countingClient(t)
	m := apply.NewManager(writer, apply.Options{MetadataReader: reader})
	if _, err := m.Apply(ctx, set, apply.ApplyOptions{Inventory: ns}); err != nil {
		t.Fatal(err)
	}
	createByHand(t, ns, 0, "by-hand", false) // a VirtualService
	createByHand(t, ns, 1, "copied", true)   // a DestinationRule

	direct.reset()
	cached.reset()
	r, err := m.Drift(ctx, set, apply.DriftOptions{Inventory: ns, MeshKinds: apply.DefaultMeshKinds})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range r.Unmanaged {
		got = append(got, u.ID+": "+u.Reason)
	}
	want := []string{
		"DestinationRule/" + ns + "/copied: labelled " + manifest.ManagedByLabel + "=" + manifest.ManagedByValue + " but not in inventory " + ns,
		"VirtualService/" + ns + "/by-hand: not in Git: no " + manifest.ManagedByLabel + "=" + manifest.ManagedByValue + " label",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
	if got := direct.listed.Load(); got != 1 {
		t.Errorf("%d objects listed from the API server, want 1: the one without the label", got)
	}
	// The set's 20 and the copied one, for the unchanged check (the set's
	// kinds) and for the unmanaged search (every mesh kind).
	if got := cached.listed.Load(); got != 2*21 {
		t.Errorf("%d objects listed from the metadata reader, want %d", got, 2*21)
	}
}

// TestLazyObjectsLoadOnlyWhenNeeded checks that Apply and Drift load a lazy
// object only when its live copy may differ, and handle it like the full
// object then.
func TestLazyObjectsLoadOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := benchSet(ns, 10)
	m := apply.NewManager(env.Client, apply.DefaultOptions())
	opts := apply.ApplyOptions{Inventory: ns, Force: true}
	mustApply(t, m, set, opts)
	var loads []string
	lazy := make(manifest.Set, len(set))
	for i, o := range set {
		digest, err := apply.Digest(o)
		if err != nil {
			t.Fatal(err)
		}
		stub := &unstructured.Unstructured{}
		stub.SetAPIVersion(o.GetAPIVersion())
		stub.SetKind(o.GetKind())
		stub.SetNamespace(o.GetNamespace())
		stub.SetName(o.GetName())
		full := o
		lazy[i] = manifest.Object{Unstructured: stub, Source: o.Source, Digest: digest, Load: func() (*unstructured.Unstructured, error) {
			loads = append(loads, full.ID())
			return full.DeepCopy(), nil
		}}
	}

	res := mustApply(t, m, lazy, opts)
	if n := res.ChangeSet.Count(apply.Unchanged); n != len(set) || len(loads) != 0 {
		t.Errorf("untouched: %d of %d unchanged, loaded %v; want all unchanged, none loaded", n, len(set), loads)
	}

	vs := find(t, set, "VirtualService")
	editWeights(t, vs, 50, 50)
	r, err := m.Drift(ctx, lazy, apply.DriftOptions{Inventory: ns, MeshKinds: []schema.GroupVersionKind{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Drifted) != 2 || r.Drifted[0].ID != vs.ID() || r.Drifted[0].Source != vs.Source {
		t.Errorf("drift = %+v, want the two weights of %s from %s", r.Drifted, vs.ID(), vs.Source)
	}
	if diff := cmp.Diff([]string{vs.ID()}, loads); diff != "" {
		t.Errorf("Drift loaded (-want +got):\n%s", diff)
	}

	loads = nil
	res, err = m.Apply(ctx, lazy, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res.ChangeSet)[vs.ID()]; got != apply.Configured {
		t.Errorf("%s: %s, want %s", vs.ID(), got, apply.Configured)
	}
	if diff := cmp.Diff([]string{vs.ID()}, loads); diff != "" {
		t.Errorf("Apply loaded (-want +got):\n%s", diff)
	}
	if u := live(t, vs); !cmp.Equal(u.Object["spec"], vs.Object["spec"]) {
		t.Errorf("spec after apply = %v, want Git's %v", u.Object["spec"], vs.Object["spec"])
	}
}

// TestApplyLeavesTheSetAlone checks that Apply, whose requests are encoded
// from the set's objects and take the server's responses, changes nothing
// in the set.
func TestApplyLeavesTheSetAlone(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := benchSet(ns, 3)
	before := make([]map[string]any, len(set))
	for i, o := range set {
		before[i] = o.DeepCopy().Object
	}
	m := apply.NewManager(env.Client, apply.DefaultOptions())
	if _, err := m.Apply(ctx, set, apply.ApplyOptions{Inventory: ns}); err != nil {
		t.Fatal(err)
	}
	editWeights(t, find(t, set, "VirtualService"), 50, 50)
	if _, err := m.Apply(ctx, set, apply.ApplyOptions{Inventory: ns, Force: true}); err != nil {
		t.Fatal(err)
	}
	for i, o := range set {
		if diff := cmp.Diff(before[i], o.Object); diff != "" {
			t.Errorf("%s changed (-before +after):\n%s", o.ID(), diff)
		}
	}
}

// TestFirstApplyReadsOnlyObjectsThatExist checks that a first apply dry-runs
// and applies each new object without reading it, and that an object that
// exists without meshintent's label (so the lists miss it) is still read
// and compared, and reported as configured rather than created.
func TestFirstApplyReadsOnlyObjectsThatExist(t *testing.T) {
	ctx := context.Background()
	counting, n := countingClient(t)
	m := apply.NewManager(counting, apply.DefaultOptions())
	// firstApply applies benchSet(ns, services) into a new namespace, after
	// creating its first object by hand when byHand, and returns the result
	// and the requests it made.
	type counts struct{ applies, gets int64 }
	firstApply := func(t *testing.T, services int, byHand bool) (manifest.Set, *apply.Result, counts) {
		t.Helper()
		ns := env.Namespace(t)
		set := benchSet(ns, services)
		if byHand {
			createByHand(t, ns, 0, set[0].GetName(), false)
		}
		n.reset()
		res, err := m.Apply(ctx, set, apply.ApplyOptions{Inventory: ns})
		if err != nil {
			t.Fatal(err)
		}
		return set, res, counts{n.applies.Load(), n.gets.Load()}
	}

	small, _, smallN := firstApply(t, 5, false)
	large, res, largeN := firstApply(t, 50, false)
	if got := res.ChangeSet.Count(apply.Created); got != len(large) {
		t.Errorf("%d objects created, want %d:\n%s", got, len(large), res.ChangeSet.String())
	}
	// Reads do not grow with the set (the namespace and the inventory's are
	// all); applies grow by a dry-run and an apply per object.
	if largeN.gets != smallN.gets {
		t.Errorf("%d object reads for %d new objects, %d for %d: reads grow with the set", largeN.gets, len(large), smallN.gets, len(small))
	}
	if got, want := largeN.applies-smallN.applies, int64(2*(len(large)-len(small))); got != want {
		t.Errorf("%d more server-side applies for %d more objects, want %d", got, len(large)-len(small), want)
	}

	set, res, byHandN := firstApply(t, 5, true)
	want := map[apply.Action]int{apply.Created: len(set) - 1, apply.Configured: 1}
	for action, count := range want {
		if got := res.ChangeSet.Count(action); got != count {
			t.Errorf("%d objects %s, want %d:\n%s", got, action, count, res.ChangeSet.String())
		}
	}
	if !slices.ContainsFunc(res.ChangeSet.Entries, func(e apply.ChangeSetEntry) bool {
		return e.Object.Name == set[0].GetName() && e.Object.Kind == set[0].GetKind() && e.Action == apply.Configured
	}) {
		t.Errorf("%s/%s is not the one configured:\n%s", set[0].GetKind(), set[0].GetName(), res.ChangeSet.String())
	}
	// The existing object costs a read and a second dry-run.
	if got := (counts{byHandN.applies - smallN.applies, byHandN.gets - smallN.gets}); got != (counts{1, 1}) {
		t.Errorf("the existing object cost %d more applies and %d more reads, want 1 and 1", got.applies, got.gets)
	}
	live := set[0].DeepCopy()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
		t.Fatal(err)
	}
	if got := live.GetLabels()[manifest.ManagedByLabel]; got != manifest.ManagedByValue {
		t.Errorf("the existing object's %s label is %q, want %q", manifest.ManagedByLabel, got, manifest.ManagedByValue)
	}
}

package apply

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// Inventory ConfigMap layout.
const (
	// InventoryLabel marks inventory ConfigMaps, with the value "true".
	InventoryLabel = "meshintent.io/inventory"
	// InventoryRevisionKey is the data key holding the applied revision.
	InventoryRevisionKey = "revision"
	// InventoryEntriesKey is the data key holding the entries as a JSON
	// array with one entry per line.
	InventoryEntriesKey = "entries"
)

// Inventory records what meshintent has applied and not yet pruned, so a
// later apply can prune what left Git. Objects applied while pruning was off
// stay recorded until a prune removes them.
//
// It is stored as the ConfigMap Namespace/Name (Options.InventoryNamespace),
// labelled app.kubernetes.io/managed-by=meshintent and
// meshintent.io/inventory=true, with two data keys:
//
//	revision: 4f1c2e9
//	entries: |
//	  [
//	  {"version":"v1","kind":"Namespace","name":"bookinfo","labels":["app.kubernetes.io/managed-by","istio-injection"],"annotations":["meshintent.io/intent","meshintent.io/source"],"source":"namespaces/bookinfo.yaml"},
//	  {"group":"networking.istio.io","version":"v1","kind":"VirtualService","namespace":"bookinfo","name":"reviews","source":"services/reviews.yaml"}
//	  ]
//
// Entries are sorted: Namespaces first, then by group, kind, namespace, name.
type Inventory struct {
	// Name is the ConfigMap's name.
	Name string `json:"name"`
	// Namespace is the ConfigMap's namespace.
	Namespace string `json:"namespace,omitempty"`
	// Revision is the revision (e.g. Git commit) last applied.
	Revision string `json:"revision,omitempty"`
	// Entries lists the objects.
	Entries []Entry `json:"entries"`
}

// Entry is one object in an Inventory.
type Entry struct {
	ObjectRef
	// Source is the repo-relative file the object came from.
	Source string `json:"source,omitempty"`
	// Labels, for Namespaces only, are the label keys meshintent sets; they
	// are what prune removes.
	Labels []string `json:"labels,omitempty"`
	// Annotations, for Namespaces only, are the annotation keys meshintent sets.
	Annotations []string `json:"annotations,omitempty"`
}

// EntryOf returns the inventory entry for a rendered object.
func EntryOf(o manifest.Object) Entry {
	e := Entry{ObjectRef: RefOf(o.Unstructured), Source: o.Source}
	if isNamespace(o.Unstructured) {
		e.Labels = slices.Sorted(maps.Keys(o.GetLabels()))
		e.Annotations = slices.Sorted(maps.Keys(o.GetAnnotations()))
	}
	return e
}

// NewInventory returns the inventory of set; Namespace is left empty for
// the Manager to fill in.
func NewInventory(name, revision string, set manifest.Set) *Inventory {
	inv := &Inventory{Name: name, Revision: revision, Entries: make([]Entry, 0, len(set))}
	for _, o := range set {
		if isNamespace(o.Unstructured) {
			// A Namespace's entry lists the labels and annotations
			// meshintent sets, which prepare adds to.
			if prepared, err := prepare(o, new([]byte)); err == nil {
				o = prepared
			}
		}
		inv.Entries = append(inv.Entries, EntryOf(o))
	}
	sortEntries(inv.Entries)
	return inv
}

// Has reports whether the inventory records the object, whatever its version.
func (inv *Inventory) Has(ref ObjectRef) bool {
	for _, e := range inv.Entries {
		if e.key() == ref.key() {
			return true
		}
	}
	return false
}

// Stale returns the entries whose objects are not in set (compared by group,
// kind, namespace and name), in inventory order: what prune removes.
func (inv *Inventory) Stale(set manifest.Set) []Entry {
	in := make(map[string]bool, len(set))
	for _, o := range set {
		in[RefOf(o.Unstructured).key()] = true
	}
	var stale []Entry
	for _, e := range inv.Entries {
		if !in[e.key()] {
			stale = append(stale, e)
		}
	}
	return stale
}

// add records entries, replacing any entry for the same object.
func (inv *Inventory) add(entries ...Entry) {
	idx := make(map[string]int, len(inv.Entries))
	for i, e := range inv.Entries {
		idx[e.key()] = i
	}
	for _, e := range entries {
		if i, ok := idx[e.key()]; ok {
			inv.Entries[i] = e
			continue
		}
		idx[e.key()] = len(inv.Entries)
		inv.Entries = append(inv.Entries, e)
	}
	sortEntries(inv.Entries)
}

func sortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(
			cmp.Compare(namespaceLast(a), namespaceLast(b)),
			cmp.Compare(a.Group, b.Group),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name))
	})
}

// namespaceLast is 0 for a Namespace and 1 for anything else, so that
// Namespaces sort first.
func namespaceLast(e Entry) int {
	if e.IsNamespace() {
		return 0
	}
	return 1
}

// encodeEntries writes a JSON array with one entry per line.
func encodeEntries(es []Entry) (string, error) {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range es {
		line, err := json.Marshal(e)
		if err != nil {
			return "", err
		}
		b.Write(line)
		if i < len(es)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.String(), nil
}

// ReadInventory reads the inventory ConfigMap name. A missing ConfigMap is
// not an error: it gives an empty inventory.
func (m *Manager) ReadInventory(ctx context.Context, name string) (*Inventory, error) {
	inv := &Inventory{Name: name, Namespace: m.opts.InventoryNamespace, Entries: []Entry{}}
	ref := inventoryRef(m.opts.InventoryNamespace, name)
	cm := ref.empty()
	if err := m.client.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		if apierrors.IsNotFound(err) {
			return inv, nil
		}
		return nil, fmt.Errorf("%s: reading inventory: %w", ref.ID(), err)
	}
	data, _, err := unstructured.NestedStringMap(cm.Object, "data")
	if err != nil {
		return nil, fmt.Errorf("%s: decoding inventory: %w", ref.ID(), err)
	}
	inv.Revision = data[InventoryRevisionKey]
	s := data[InventoryEntriesKey]
	if s == "" {
		return inv, nil
	}
	// Decoding thousands of entries costs more than the rest of a no-op
	// apply: an unchanged ConfigMap reuses the entries decoded last time.
	m.invMu.Lock()
	stored, ok := m.inventories[name]
	m.invMu.Unlock()
	if ok && stored.resourceVersion == cm.GetResourceVersion() && stored.entries == s {
		inv.Entries = slices.Clone(stored.parsed)
		return inv, nil
	}
	if err := json.Unmarshal([]byte(s), &inv.Entries); err != nil {
		return nil, fmt.Errorf("%s: decoding inventory entries: %w", ref.ID(), err)
	}
	m.invMu.Lock()
	m.inventories[name] = storedInventory{resourceVersion: cm.GetResourceVersion(), entries: s, parsed: slices.Clone(inv.Entries)}
	m.invMu.Unlock()
	return inv, nil
}

// WriteInventory stores inv as its ConfigMap (server-side apply, taking
// over any field), creating the inventory namespace when missing. It writes
// nothing and returns Unchanged when the stored inventory is already equal.
func (m *Manager) WriteInventory(ctx context.Context, inv *Inventory) (Action, error) {
	inv.Namespace = m.opts.InventoryNamespace
	ref := inventoryRef(inv.Namespace, inv.Name)
	entries, err := encodeEntries(inv.Entries)
	if err != nil {
		return "", fmt.Errorf("%s: encoding inventory: %w", ref.ID(), err)
	}
	want := ref.empty()
	want.SetLabels(map[string]string{manifest.ManagedByLabel: manifest.ManagedByValue, InventoryLabel: "true"})
	if err := unstructured.SetNestedStringMap(want.Object, map[string]string{
		InventoryRevisionKey: inv.Revision,
		InventoryEntriesKey:  entries,
	}, "data"); err != nil {
		return "", fmt.Errorf("%s: %w", ref.ID(), err)
	}

	live := ref.empty()
	switch err := m.client.Get(ctx, client.ObjectKeyFromObject(live), live); {
	case apierrors.IsNotFound(err):
		live = nil
		if err := m.ensureNamespace(ctx, inv.Namespace); err != nil {
			return "", fmt.Errorf("%s: %w", ref.ID(), err)
		}
	case err != nil:
		return "", fmt.Errorf("%s: reading inventory: %w", ref.ID(), err)
	default:
		data, _, _ := unstructured.NestedStringMap(live.Object, "data")
		labels := live.GetLabels()
		if maps.Equal(data, map[string]string{InventoryRevisionKey: inv.Revision, InventoryEntriesKey: entries}) &&
			labels[manifest.ManagedByLabel] == manifest.ManagedByValue && labels[InventoryLabel] == "true" {
			return Unchanged, nil
		}
	}
	if err := m.serverSideApply(ctx, want, ref.metadata(), true, false); err != nil {
		return "", fmt.Errorf("%s: writing inventory: %w", ref.ID(), err)
	}
	if live == nil {
		return Created, nil
	}
	return Configured, nil
}

// ensureNamespace creates the namespace when it does not exist. It reads
// first, so that an identity without "create" on Namespaces (the deployed
// controller's) works wherever the namespace is already there.
func (m *Manager) ensureNamespace(ctx context.Context, name string) error {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	switch err := m.client.Get(ctx, client.ObjectKey{Name: name}, ns.DeepCopy()); {
	case err == nil:
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading namespace %s: %w", name, err)
	}
	err := m.client.Create(ctx, ns, client.FieldOwner(m.opts.FieldManager))
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

func inventoryRef(namespace, name string) ObjectRef {
	return ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: namespace, Name: name}
}

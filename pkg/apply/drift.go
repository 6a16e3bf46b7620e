package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/jsonvalue"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// KialiWizardLabel is the label Kiali's wizards put on the Istio objects
// they create; its value names the wizard.
const KialiWizardLabel = "kiali_wizard"

// DefaultMeshKinds are the Istio kinds Drift lists in managed namespaces to
// find objects not managed through Git: those of the table of managed kinds
// marked Unmanaged (meshkinds.UnmanagedGVKs), EnvoyFilter included.
var DefaultMeshKinds = meshkinds.UnmanagedGVKs()

// BuiltinIgnores are the JSON pointers Drift always leaves out, because
// the API server or other controllers set them. Labels and annotations that
// meshintent does not set (such as a Namespace's kubernetes.io/metadata.name)
// are never compared either: only fields in the rendered objects are.
var BuiltinIgnores = []string{
	"/status",
	"/metadata/managedFields",
	"/metadata/resourceVersion",
	"/metadata/generation",
	"/metadata/uid",
	"/metadata/creationTimestamp",
	"/metadata/annotations/" + intent.EscapePointerToken("kubectl.kubernetes.io/last-applied-configuration"),
	// The digest changes with any field, and whenever the set was applied
	// by another route; the fields themselves are compared.
	"/metadata/annotations/" + intent.EscapePointerToken(DigestAnnotation),
}

// IgnoreRule leaves fields out of the drift comparison. It is the
// IntentSync spec's type, so that rules from the spec and from the
// repository's configuration are one list. Paths are JSON pointers
// (RFC 6901) such as "/spec/http/0/retries"; a pointer covers everything
// below it, and a "*" token matches any one key or index
// ("/spec/http/*/retries"). Group, Kind, Namespace and Name limit the rule
// to matching objects; empty matches any.
type IgnoreRule = v1alpha1.IgnoreRule

// ruleMatches reports whether r applies to the object ref.
func ruleMatches(r IgnoreRule, ref ObjectRef) bool {
	return (r.Group == "" || r.Group == ref.Group) &&
		(r.Kind == "" || r.Kind == ref.Kind) &&
		(r.Namespace == "" || r.Namespace == ref.Namespace) &&
		(r.Name == "" || r.Name == ref.Name)
}

// DriftOptions configure Drift.
type DriftOptions struct {
	// Ignore are user rules applied on top of BuiltinIgnores.
	Ignore []IgnoreRule
	// Inventory is the inventory ConfigMap whose objects count as managed
	// and whose objects no longer in Git are reported as stale. Empty means
	// no inventory: the managed-by label alone decides.
	Inventory string
	// MeshKinds are listed in every namespace the set touches to find
	// objects nobody manages through Git; nil means DefaultMeshKinds, an
	// empty non-nil slice turns the search off. Kinds the API server does not
	// serve are passed over.
	MeshKinds []schema.GroupVersionKind
}

// DefaultDriftOptions returns options using the inventory
// DefaultInventoryName and DefaultMeshKinds.
func DefaultDriftOptions() DriftOptions {
	return DriftOptions{Inventory: DefaultInventoryName, MeshKinds: DefaultMeshKinds}
}

// Drift compares set with the cluster without writing anything. It reports:
//   - for each object, the fields set in Git whose live value differs, with
//     the field manager that owns the live value (from managedFields);
//     inside lists, which Istio's CRDs make atomic, live extras count too;
//   - objects of the set missing from the cluster;
//   - objects of opts.MeshKinds in the namespaces the set touches that are
//     not in the set and not managed by meshintent (no managed-by label, or
//     not in the inventory), flagging those Kiali's wizards made;
//   - inventory objects no longer in the set that still exist (stale).
//
// Namespaces are compared on meshintent's labels and annotations only.
func (m *Manager) Drift(ctx context.Context, set manifest.Set, opts DriftOptions) (*Report, error) {
	ps, err := plan(set)
	if err != nil {
		return nil, err
	}
	rules, err := compileIgnores(opts.Ignore)
	if err != nil {
		return nil, err
	}
	var inv *Inventory
	if opts.Inventory != "" {
		if inv, err = m.ReadInventory(ctx, opts.Inventory); err != nil {
			return nil, err
		}
	}
	kinds := opts.MeshKinds
	if kinds == nil {
		kinds = DefaultMeshKinds
	}

	// Compare each object with its live copy, but those whose metadata
	// shows they cannot have drifted.
	unchanged := m.unchangedLive(ctx, ps, driftListThreshold)
	for i, p := range ps {
		if !unchanged[i] {
			if err := p.load(); err != nil {
				return nil, err
			}
		}
	}
	diffs := make([][]FieldDiff, len(ps))
	missing := make([]bool, len(ps))
	errs := make([]error, len(ps))
	m.each(ctx, len(ps), func(ctx context.Context, i int) {
		p := ps[i]
		if unchanged[i] {
			return
		}
		live := p.ref.empty()
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				missing[i] = true
				return
			}
			errs[i] = fmt.Errorf("%s: reading live object: %w", p.ref.ID(), err)
			return
		}
		diffs[i] = m.diffObject(p, live, rules)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &Report{Drifted: []FieldDiff{}, Missing: []ObjectInfo{}, Unmanaged: []Unmanaged{}, Stale: []ObjectInfo{}}
	for i, p := range ps {
		r.Drifted = append(r.Drifted, diffs[i]...)
		if missing[i] {
			r.Missing = append(r.Missing, ObjectInfo{ID: p.ref.ID(), Object: p.ref, Source: p.obj.Source})
		}
	}

	// Find stale inventory objects.
	if inv != nil {
		stale, err := m.stale(ctx, inv.Stale(set))
		if err != nil {
			return nil, err
		}
		r.Stale = append(r.Stale, stale...)
	}

	// Find mesh objects nobody manages through Git.
	unmanaged, stale, err := m.unmanaged(ctx, ps, kinds, inv)
	if err != nil {
		return nil, err
	}
	r.Unmanaged = append(r.Unmanaged, unmanaged...)
	r.Stale = append(r.Stale, stale...)
	return r, nil
}

// stale returns the entries whose objects still exist; a Namespace counts
// while it still carries one of meshintent's labels.
func (m *Manager) stale(ctx context.Context, entries []Entry) ([]ObjectInfo, error) {
	exists := make([]bool, len(entries))
	errs := make([]error, len(entries))
	m.each(ctx, len(entries), func(ctx context.Context, i int) {
		e := entries[i]
		live := e.empty()
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			if !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
				errs[i] = fmt.Errorf("%s: reading live object: %w", e.ID(), err)
			}
			return
		}
		if !e.IsNamespace() {
			exists[i] = true
			return
		}
		for _, k := range e.Labels {
			if _, ok := live.GetLabels()[k]; ok {
				exists[i] = true
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []ObjectInfo
	for i, e := range entries {
		if exists[i] {
			out = append(out, ObjectInfo{ID: e.ID(), Object: e.ObjectRef, Source: e.Source})
		}
	}
	return out, nil
}

// unmanaged lists kinds in the set's namespaces: the objects without
// meshintent's label from the API server, and those with it from the
// MetadataReader when there is one. Objects labelled as meshintent's but
// not in the set are stale when no inventory is kept (the inventory reports
// its own stale objects).
func (m *Manager) unmanaged(ctx context.Context, ps []*planned, kinds []schema.GroupVersionKind, inv *Inventory) ([]Unmanaged, []ObjectInfo, error) {
	inSet := map[string]bool{}
	var namespaces []string
	for _, p := range ps {
		inSet[p.ref.key()] = true
		if p.ns != "" && !slices.Contains(namespaces, p.ns) {
			namespaces = append(namespaces, p.ns)
		}
	}
	type job struct {
		ns  string
		gvk schema.GroupVersionKind
	}
	var jobs []job
	for _, ns := range namespaces {
		for _, gvk := range kinds {
			jobs = append(jobs, job{ns, gvk})
		}
	}
	// Each list is reduced to its findings at once, page by page, so that
	// memory does not grow with the objects in the namespaces.
	type found struct {
		unmanaged []Unmanaged
		stale     []ObjectInfo
	}
	ours := client.MatchingLabels{manifest.ManagedByLabel: manifest.ManagedByValue}
	others, err := labels.Parse(manifest.ManagedByLabel + "!=" + manifest.ManagedByValue)
	if err != nil {
		return nil, nil, err
	}
	notOurs := client.MatchingLabelsSelector{Selector: others}
	founds := make([]found, len(jobs))
	errs := make([]error, len(jobs))
	m.each(ctx, len(jobs), func(ctx context.Context, i int) {
		gvk := jobs[i].gvk
		f := &founds[i]
		visit := func(u *metav1.PartialObjectMetadata) {
			ref := ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
			if inSet[ref.key()] {
				return
			}
			ours := u.GetLabels()[manifest.ManagedByLabel] == manifest.ManagedByValue
			var reason string
			switch {
			case ours && inv == nil:
				f.stale = append(f.stale, ObjectInfo{ID: ref.ID(), Object: ref, Source: u.GetAnnotations()[manifest.SourceAnnotation]})
				return
			case ours && inv.Has(ref):
				return // reported as stale from the inventory
			case ours:
				reason = fmt.Sprintf("labelled %s=%s but not in inventory %s", manifest.ManagedByLabel, manifest.ManagedByValue, inv.Name)
			default:
				reason = fmt.Sprintf("not in Git: no %s=%s label", manifest.ManagedByLabel, manifest.ManagedByValue)
			}
			var managers []string
			for _, mf := range u.GetManagedFields() {
				if !slices.Contains(managers, mf.Manager) {
					managers = append(managers, mf.Manager)
				}
			}
			f.unmanaged = append(f.unmanaged, Unmanaged{
				ObjectInfo:  ObjectInfo{ID: ref.ID(), Object: ref},
				KialiWizard: u.GetLabels()[KialiWizardLabel],
				Managers:    managers,
				Reason:      reason,
			})
		}
		// The API server filters out meshintent's own objects, which are
		// most of a managed namespace's, and those come from the cache of
		// them when there is one.
		err := m.listMetadata(ctx, nil, gvk, jobs[i].ns, notOurs, visit)
		if err == nil {
			err = m.listMetadata(ctx, m.opts.MetadataReader, gvk, jobs[i].ns, ours, visit)
		}
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			errs[i] = fmt.Errorf("listing %s in namespace %s: %w", gvk.Kind, jobs[i].ns, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var unmanaged []Unmanaged
	var stale []ObjectInfo
	for _, f := range founds {
		unmanaged = append(unmanaged, f.unmanaged...)
		stale = append(stale, f.stale...)
	}
	sort.Slice(unmanaged, func(i, j int) bool { return unmanaged[i].ID < unmanaged[j].ID })
	return unmanaged, stale, nil
}

// segment is one step of a field path: a map key or a list index.
type segment struct {
	key   string
	index int // -1 for a key
}

type fieldPath []segment

func (p fieldPath) with(s segment) fieldPath {
	return append(slices.Clip(p), s)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// String formats the path as .spec.http[0].route[1].weight, quoting keys
// that are not plain identifiers: .metadata.labels["istio.io/rev"].
func (p fieldPath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case plainKey.MatchString(s.key):
			b.WriteString("." + s.key)
		default:
			fmt.Fprintf(&b, "[%q]", s.key)
		}
	}
	return b.String()
}

// Pointer formats the path as a JSON pointer: /spec/http/0/route/1/weight.
func (p fieldPath) Pointer() string {
	var b strings.Builder
	for _, t := range p.tokens() {
		b.WriteString("/" + intent.EscapePointerToken(t))
	}
	return b.String()
}

func (p fieldPath) tokens() []string {
	ts := make([]string, len(p))
	for i, s := range p {
		if s.index >= 0 {
			ts[i] = strconv.Itoa(s.index)
		} else {
			ts[i] = s.key
		}
	}
	return ts
}

// ignoreSet is the compiled built-in and user rules.
type ignoreSet []compiledRule

type compiledRule struct {
	rule   IgnoreRule
	tokens [][]string
}

func compileIgnores(rules []IgnoreRule) (ignoreSet, error) {
	all := append([]IgnoreRule{{Paths: BuiltinIgnores}}, rules...)
	set := make(ignoreSet, 0, len(all))
	for _, r := range all {
		c := compiledRule{rule: r}
		for _, p := range r.Paths {
			ts, err := intent.PointerTokens(p)
			if err != nil || p == "" { // "" would ignore the whole object
				return nil, fmt.Errorf("ignore rule %q: a JSON pointer must start with /", p)
			}
			c.tokens = append(c.tokens, ts)
		}
		set = append(set, c)
	}
	return set, nil
}

// ignored reports whether a rule for ref covers path.
func (s ignoreSet) ignored(ref ObjectRef, path fieldPath) bool {
	ts := path.tokens()
	for _, c := range s {
		if !ruleMatches(c.rule, ref) {
			continue
		}
	next:
		for _, rt := range c.tokens {
			if len(rt) > len(ts) {
				continue
			}
			for i, t := range rt {
				if t != "*" && t != ts[i] {
					continue next
				}
			}
			return true
		}
	}
	return false
}

// diffObject compares the fields of the desired object with live.
func (m *Manager) diffObject(p *planned, live *unstructured.Unstructured, rules ignoreSet) []FieldDiff {
	var out []FieldDiff
	var sets []managedSet
	parsed := false // managedFields are parsed at the first difference only
	emit := func(path fieldPath, want, have any) {
		if !parsed {
			sets, parsed = managedSets(live), true
		}
		out = append(out, FieldDiff{
			ID: p.ref.ID(), Source: p.obj.Source,
			Path: path.String(), Pointer: path.Pointer(),
			Want: want, Have: have,
			Manager: m.owner(sets, live.Object, path),
		})
	}
	d := differ{ref: p.ref, rules: rules, emit: emit}
	want := p.obj.Object
	for _, k := range slices.Sorted(maps.Keys(want)) {
		switch k {
		case "apiVersion", "kind":
		case "metadata":
			wm, _ := want[k].(map[string]any)
			hm, _ := live.Object[k].(map[string]any)
			for _, mk := range []string{"labels", "annotations"} {
				if wv, ok := wm[mk]; ok {
					hv, hok := hm[mk]
					d.walk(fieldPath{{key: k, index: -1}, {key: mk, index: -1}}, wv, hv, hok, false)
				}
			}
		default:
			hv, hok := live.Object[k]
			d.walk(fieldPath{{key: k, index: -1}}, want[k], hv, hok, false)
		}
	}
	return out
}

type differ struct {
	ref   ObjectRef
	rules ignoreSet
	emit  func(path fieldPath, want, have any)
}

// walk compares want with have below path. Within a list (atomic in
// Istio's CRDs, so wholly owned by whoever set it) keys and elements present
// only live are differences too.
func (d differ) walk(path fieldPath, want, have any, haveOK, atomic bool) {
	if d.rules.ignored(d.ref, path) {
		return
	}
	if want == nil {
		if atomic && haveOK && have != nil {
			d.emit(path, nil, have)
		}
		return
	}
	if !haveOK || have == nil {
		d.emit(path, want, nil)
		return
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			d.emit(path, want, have)
			return
		}
		keys := slices.Collect(maps.Keys(w))
		if atomic {
			for k := range h {
				if _, ok := w[k]; !ok {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			hv, hok := h[k]
			d.walk(path.with(segment{key: k, index: -1}), w[k], hv, hok, atomic)
		}
	case []any:
		h, ok := have.([]any)
		if !ok {
			d.emit(path, want, have)
			return
		}
		for i := range max(len(w), len(h)) {
			var wv, hv any
			if i < len(w) {
				wv = w[i]
			}
			if i < len(h) {
				hv = h[i]
			}
			d.walk(path.with(segment{index: i}), wv, hv, i < len(h), true)
		}
	default:
		if !valueEqual(want, have) {
			d.emit(path, want, have)
		}
	}
}

// managedSet is one managedFields entry: its manager and the fields it
// owns, parsed once per object by structured-merge-diff.
type managedSet struct {
	manager string
	fields  *fieldpath.Set
}

// managedSets parses live's managedFields; entries whose fieldsV1 does not
// parse are left out.
func managedSets(live *unstructured.Unstructured) []managedSet {
	var out []managedSet
	for _, f := range live.GetManagedFields() {
		if f.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(f.FieldsV1.GetRawBytes())); err != nil {
			continue
		}
		out = append(out, managedSet{manager: f.Manager, fields: set})
	}
	return out
}

// owner returns the field manager of sets that owns the live value at path,
// preferring a manager other than meshintent's when several do.
func (m *Manager) owner(sets []managedSet, live map[string]any, path fieldPath) string {
	var ours string
	for _, s := range sets {
		if !owns(s.fields, path, live) {
			continue
		}
		if s.manager != m.opts.FieldManager {
			return s.manager
		}
		ours = s.manager
	}
	return ours
}

// owns reports whether set owns the value at path in live: the path ends in
// the set, or passes through a member with no children (a value owned as a
// whole, such as an atomic list). A list index is matched against the set's
// elements by what identifies the live element: its keys (k:), its value
// (v:) or its index (i:).
func owns(set *fieldpath.Set, path fieldPath, live any) bool {
	if len(path) == 0 {
		return false
	}
	s := path[0]
	var next any
	var candidates []fieldpath.PathElement
	if s.index < 0 {
		lm, _ := live.(map[string]any)
		next = lm[s.key]
		candidates = []fieldpath.PathElement{fieldpath.FieldNameElement(s.key)}
	} else {
		list, _ := live.([]any)
		if s.index < len(list) {
			next = list[s.index]
		}
		for pe := range set.Members.All() {
			if elementMatches(pe, s.index, next) {
				candidates = append(candidates, pe)
			}
		}
		for pe := range set.Children.All() {
			if elementMatches(pe, s.index, next) && !set.Members.Has(pe) {
				candidates = append(candidates, pe)
			}
		}
	}
	for _, pe := range candidates {
		child, hasChildren := set.Children.Get(pe)
		switch {
		case !hasChildren:
			if set.Members.Has(pe) {
				return true // the end of the path, or a leaf on the way
			}
		case len(path) == 1:
			return true
		case owns(child, path[1:], next):
			return true
		}
	}
	return false
}

// elementMatches reports whether pe names the list element at index whose
// live value is elem.
func elementMatches(pe fieldpath.PathElement, index int, elem any) bool {
	switch {
	case pe.Index != nil:
		return *pe.Index == index
	case pe.Key != nil:
		em, ok := elem.(map[string]any)
		if !ok {
			return false
		}
		for _, f := range *pe.Key {
			if !valueEqual(f.Value.Unstructured(), em[f.Name]) {
				return false
			}
		}
		return true
	case pe.Value != nil:
		return elem != nil && valueEqual((*pe.Value).Unstructured(), elem)
	}
	return false
}

// valueEqual compares JSON values, numbers by value.
func valueEqual(a, b any) bool {
	a, b = normalize(a), normalize(b)
	return reflect.DeepEqual(a, b)
}

// normalize makes every number of v a float64.
func normalize(v any) any { return jsonvalue.Rewrite(v, nil, toFloat) }

// toFloat is a number's value as a float64, or v itself.
func toFloat(v any) any {
	if f, ok := jsonvalue.Float(v); ok {
		return f
	}
	return v
}

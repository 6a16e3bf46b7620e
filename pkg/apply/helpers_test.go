package apply_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/importer/importertest"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// load reads a multi-document fixture from testdata, with NAMESPACE
// replaced by ns; each object's Source is its meshintent.io/source annotation.
func load(t *testing.T, file, ns string) manifest.Set {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var set manifest.Set
	for _, u := range importertest.ParseObjects(t, string(b), ns) {
		set = append(set, manifest.Object{Unstructured: u, Source: u.GetAnnotations()[manifest.SourceAnnotation]})
	}
	set.Sort()
	return set
}

// without returns set minus the objects of the given kinds.
func without(set manifest.Set, kinds ...string) manifest.Set {
	var out manifest.Set
	for _, o := range set {
		keep := true
		for _, k := range kinds {
			if o.GetKind() == k {
				keep = false
			}
		}
		if keep {
			out = append(out, o)
		}
	}
	return out
}

// find returns the object of the kind in set.
func find(t *testing.T, set manifest.Set, kind string) manifest.Object {
	t.Helper()
	for _, o := range set {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s in set", kind)
	return manifest.Object{}
}

// withWeights returns a copy of set whose VirtualService routes have the weights.
func withWeights(t *testing.T, set manifest.Set, weights ...int64) manifest.Set {
	t.Helper()
	out := make(manifest.Set, len(set))
	for i, o := range set {
		out[i] = manifest.Object{Unstructured: o.DeepCopy(), Source: o.Source, Intent: o.Intent}
		if o.GetKind() != "VirtualService" {
			continue
		}
		setWeights(t, out[i].Unstructured, weights...)
	}
	return out
}

func setWeights(t *testing.T, u *unstructured.Unstructured, weights ...int64) {
	t.Helper()
	http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
	routes := http[0].(map[string]any)["route"].([]any)
	for j, w := range weights {
		routes[j].(map[string]any)["weight"] = w
	}
	if err := unstructured.SetNestedSlice(u.Object, http, "spec", "http"); err != nil {
		t.Fatal(err)
	}
}

// newManager returns a Manager and apply options keeping an inventory named
// after the test's namespace.
func newManager(ns string) (*apply.Manager, apply.ApplyOptions) {
	opts := apply.DefaultApplyOptions()
	opts.Inventory = ns
	return apply.NewManager(env.Client, apply.Options{}), opts
}

// live reads the object of o from the cluster; nil when it does not exist.
func live(t *testing.T, o manifest.Object) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(o.GroupVersionKind())
	err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(o.Unstructured), u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading %s: %v", o.ID(), err)
	}
	return u
}

// resourceVersions maps each object of set that exists to its resourceVersion,
// plus the inventory ConfigMap under the key "inventory".
func resourceVersions(t *testing.T, set manifest.Set, inventory string) map[string]string {
	t.Helper()
	rv := map[string]string{}
	for _, o := range set {
		if u := live(t, o); u != nil {
			rv[o.ID()] = u.GetResourceVersion()
		}
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: apply.DefaultInventoryNamespace, Name: inventory}, cm); err == nil {
		rv["inventory"] = cm.GetResourceVersion()
	}
	return rv
}

// actions maps each changeset entry's ID to its action.
func actions(cs apply.ChangeSet) map[string]apply.Action {
	m := map[string]apply.Action{}
	for _, e := range cs.Entries {
		m[e.ID] = e.Action
	}
	return m
}

// managers lists the field managers of u with their operation, as "name/Operation".
func managers(u *unstructured.Unstructured) []string {
	var ms []string
	for _, f := range u.GetManagedFields() {
		ms = append(ms, f.Manager+"/"+string(f.Operation))
	}
	return ms
}

// labelNamespace sets labels and annotations on a namespace as another
// field manager would (an Update by kubectl-label).
func labelNamespace(t *testing.T, ns string, labels, annotations map[string]string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	ctx := t.Context()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, u); err != nil {
		t.Fatal(err)
	}
	l, a := u.GetLabels(), u.GetAnnotations()
	if l == nil {
		l = map[string]string{}
	}
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range labels {
		l[k] = v
	}
	for k, v := range annotations {
		a[k] = v
	}
	u.SetLabels(l)
	u.SetAnnotations(a)
	if err := env.Client.Update(ctx, u, client.FieldOwner("kubectl-label")); err != nil {
		t.Fatal(err)
	}
}

// editWeights changes the VirtualService's weights the way `kubectl edit`
// does: an Update as field manager kubectl-edit.
func editWeights(t *testing.T, vs manifest.Object, weights ...int64) {
	t.Helper()
	u := live(t, vs)
	setWeights(t, u, weights...)
	if err := env.Client.Update(t.Context(), u, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
}

// bookinfo loads bookinfo.yaml into ns and returns it with a Manager and
// apply options for ns.
func bookinfo(t *testing.T, ns string) (manifest.Set, *apply.Manager, apply.ApplyOptions) {
	t.Helper()
	m, opts := newManager(ns)
	return load(t, "bookinfo.yaml", ns), m, opts
}

// mustApply applies set with m, failing the test on an error.
func mustApply(t *testing.T, m *apply.Manager, set manifest.Set, opts apply.ApplyOptions) *apply.Result {
	t.Helper()
	res, err := m.Apply(t.Context(), set, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// reapplyUnchanged applies set again and checks that every object is
// unchanged.
func reapplyUnchanged(t *testing.T, m *apply.Manager, set manifest.Set, opts apply.ApplyOptions) {
	t.Helper()
	res := mustApply(t, m, set, opts)
	if n := res.ChangeSet.Count(apply.Unchanged); n != len(set) {
		t.Errorf("%d of %d objects unchanged:\n%s", n, len(set), res.ChangeSet.String())
	}
}

// checkBookinfoActions checks that the change set of bookinfo.yaml in ns
// holds exactly its four objects with the given actions.
func checkBookinfoActions(t *testing.T, cs apply.ChangeSet, ns string, namespace, virtualService, destinationRule, telemetry apply.Action) {
	t.Helper()
	want := map[string]apply.Action{
		"Namespace/" + ns:                    namespace,
		"VirtualService/" + ns + "/reviews":  virtualService,
		"DestinationRule/" + ns + "/reviews": destinationRule,
		"Telemetry/" + ns + "/access-logs":   telemetry,
	}
	if diff := cmp.Diff(want, actions(cs)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

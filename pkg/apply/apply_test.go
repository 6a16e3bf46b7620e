package apply_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

func TestApply(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	labelNamespace(t, ns, map[string]string{"team": "reviews"}, map[string]string{"owner": "alice@example.com"})
	set, m, opts := bookinfo(t, ns)

	t.Run("a set is applied with manager meshintent and our labels", func(t *testing.T) {
		res := mustApply(t, m, set, opts)
		checkBookinfoActions(t, res.ChangeSet, ns, apply.Configured, apply.Created, apply.Created, apply.Created)
		if got := res.ChangeSet.Entries[0].ID; got != "Namespace/"+ns {
			t.Errorf("first entry is %s, want the Namespace", got)
		}
		for _, o := range set {
			u := live(t, o)
			if u == nil {
				t.Errorf("%s was not created", o.ID())
				continue
			}
			if !contains(managers(u), "meshintent/Apply") {
				t.Errorf("%s managers are %v, want meshintent/Apply among them", o.ID(), managers(u))
			}
			if got := u.GetLabels()[manifest.ManagedByLabel]; got != manifest.ManagedByValue {
				t.Errorf("%s label %s = %q", o.ID(), manifest.ManagedByLabel, got)
			}
		}
	})

	t.Run("a namespace keeps the labels and annotations of other owners", func(t *testing.T) {
		u := live(t, find(t, set, "Namespace"))
		wantLabels := map[string]string{
			"app.kubernetes.io/managed-by": "meshintent",
			"istio-injection":              "enabled",
			"kubernetes.io/metadata.name":  ns,
			"team":                         "reviews",
		}
		if diff := cmp.Diff(wantLabels, u.GetLabels()); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		wantAnnotations := map[string]string{
			"meshintent.io/intent": "NamespaceIntent/" + ns,
			"meshintent.io/source": "namespaces/bookinfo.yaml",
			"owner":                "alice@example.com",
		}
		gotAnnotations := u.GetAnnotations()
		if d := gotAnnotations[apply.DigestAnnotation]; !strings.HasPrefix(d, "sha256:") {
			t.Errorf("annotation %s = %q, want a sha256 digest", apply.DigestAnnotation, d)
		}
		delete(gotAnnotations, apply.DigestAnnotation)
		if diff := cmp.Diff(wantAnnotations, gotAnnotations); diff != "" {
			t.Errorf("annotations (-want +got):\n%s", diff)
		}
	})

	t.Run("a second identical apply makes no writes", func(t *testing.T) {
		before := resourceVersions(t, set, ns)
		res := mustApply(t, m, set, opts)
		if got := res.ChangeSet.Count(apply.Unchanged); got != len(set) || res.ChangeSet.Changed() {
			t.Errorf("change set is %q, want all %d unchanged", res.ChangeSet.Summary(), len(set))
		}
		if diff := cmp.Diff(before, resourceVersions(t, set, ns)); diff != "" {
			t.Errorf("resourceVersions (-want +got):\n%s", diff)
		}
	})

	t.Run("changed weights are configured and the rest left unchanged", func(t *testing.T) {
		set := withWeights(t, set, 50, 50)
		res := mustApply(t, m, set, opts)
		checkBookinfoActions(t, res.ChangeSet, ns, apply.Unchanged, apply.Configured, apply.Unchanged, apply.Unchanged)
		if diff := cmp.Diff([]int64{50, 50}, weights(t, find(t, set, "VirtualService"))); diff != "" {
			t.Errorf("live weights (-want +got):\n%s", diff)
		}
	})

	t.Run("objects failing the CRD schemas stop the whole set", func(t *testing.T) {
		before := resourceVersions(t, set, ns)
		bad := load(t, "invalid.yaml", ns)
		mixed := append(withWeights(t, set, 10, 90), bad...)
		res, err := m.Apply(t.Context(), mixed, opts)
		var dryRun *apply.DryRunError
		if !errors.As(err, &dryRun) {
			t.Fatalf("error is %v, want a *DryRunError", err)
		}
		if res != nil {
			t.Errorf("result is %+v, want nil", res)
		}
		var got []string
		for _, f := range dryRun.Failures {
			got = append(got, f.ID+" "+f.Source)
		}
		want := []string{
			"DestinationRule/" + ns + "/details services/details.yaml",
			"VirtualService/" + ns + "/ratings services/ratings.yaml",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		for _, s := range []string{"services/details.yaml", "services/ratings.yaml", "weight", "loadBalancer", "nothing was applied"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error does not mention %q:\n%v", s, err)
			}
		}
		if diff := cmp.Diff(before, resourceVersions(t, mixed, ns)); diff != "" {
			t.Errorf("resourceVersions (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{50, 50}, weights(t, find(t, set, "VirtualService"))); diff != "" {
			t.Errorf("live weights (-want +got):\n%s", diff)
		}
	})
}

func TestApplyNamespaces(t *testing.T) {
	t.Parallel()

	t.Run("a missing namespace is an error naming it", func(t *testing.T) {
		ns := testenv.NamespaceName(t)
		set, m, opts := bookinfo(t, ns)
		_, err := m.Apply(t.Context(), set, opts)
		var missing *apply.NamespaceMissingError
		if !errors.As(err, &missing) {
			t.Fatalf("error is %v, want a *NamespaceMissingError", err)
		}
		want := "namespace " + ns + " does not exist; create it or enable namespace creation"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if u := live(t, find(t, set, "Namespace")); u != nil {
			t.Errorf("namespace %s was created", ns)
		}
	})

	t.Run("a missing namespace is created when allowed", func(t *testing.T) {
		ns := testenv.NamespaceName(t)
		set, m, opts := bookinfo(t, ns)
		opts.CreateNamespaces = true
		res := mustApply(t, m, set, opts)
		if got := res.ChangeSet.Count(apply.Created); got != len(set) {
			t.Errorf("change set is %q, want all %d created", res.ChangeSet.Summary(), len(set))
		}
		u := live(t, find(t, set, "Namespace"))
		if u == nil || u.GetLabels()["istio-injection"] != "enabled" {
			t.Fatalf("namespace is %v, want it labelled istio-injection=enabled", u)
		}
	})

	t.Run("a namespace only referenced by objects is created when allowed", func(t *testing.T) {
		ns := testenv.NamespaceName(t)
		set := without(load(t, "bookinfo.yaml", ns), "Namespace")
		m, opts := newManager(ns)
		opts.CreateNamespaces = true
		res := mustApply(t, m, set, opts)
		checkBookinfoActions(t, res.ChangeSet, ns, apply.Created, apply.Created, apply.Created, apply.Created)
	})
}

func TestApplyConflicts(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	set, m, opts := bookinfo(t, ns)
	mustApply(t, m, set, opts)
	vs := find(t, set, "VirtualService")
	editWeights(t, vs, 0, 100)
	changed := withWeights(t, set, 70, 30)

	t.Run("an apply without force names the other manager and field", func(t *testing.T) {
		before := resourceVersions(t, set, ns)
		_, err := m.Apply(t.Context(), changed, opts)
		var conflict *apply.ConflictError
		if !errors.As(err, &conflict) {
			t.Fatalf("error is %v, want a *ConflictError", err)
		}
		if !apierrors.IsConflict(err) {
			t.Errorf("apierrors.IsConflict(%v) = false", err)
		}
		want := []apply.Conflict{{Manager: "kubectl-edit", Field: ".spec.http"}}
		if diff := cmp.Diff(want, conflict.Conflicts); diff != "" {
			t.Errorf("conflicts (-want +got):\n%s", diff)
		}
		for _, s := range []string{"VirtualService/" + ns + "/reviews", "services/reviews.yaml", `"kubectl-edit"`, ".spec.http", "force"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error does not mention %s:\n%v", s, err)
			}
		}
		if diff := cmp.Diff(before, resourceVersions(t, set, ns)); diff != "" {
			t.Errorf("resourceVersions (-want +got):\n%s", diff)
		}
	})

	t.Run("an apply with force takes the fields over", func(t *testing.T) {
		opts := opts
		opts.Force = true
		res := mustApply(t, m, changed, opts)
		if got := actions(res.ChangeSet)[vs.ID()]; got != apply.Configured {
			t.Errorf("%s action = %s, want configured", vs.ID(), got)
		}
		if diff := cmp.Diff([]int64{70, 30}, weights(t, vs)); diff != "" {
			t.Errorf("live weights (-want +got):\n%s", diff)
		}
		report, err := m.Drift(t.Context(), changed, apply.DriftOptions{Inventory: ns})
		if err != nil {
			t.Fatal(err)
		}
		if !report.InSync() {
			t.Errorf("drift after force = %+v, want in sync", report)
		}
	})
}

// weights reads the live weights of the VirtualService's first HTTP route.
func weights(t *testing.T, vs manifest.Object) []int64 {
	t.Helper()
	u := live(t, vs)
	if u == nil {
		t.Fatalf("%s does not exist", vs.ID())
	}
	http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
	var ws []int64
	for _, r := range http[0].(map[string]any)["route"].([]any) {
		w, _ := r.(map[string]any)["weight"].(int64)
		ws = append(ws, w)
	}
	return ws
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

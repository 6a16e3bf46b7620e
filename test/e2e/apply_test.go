package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestApplyLifecycle walks one Git history through the cluster: first apply,
// a weight change, an intent removed with prune, a hand edit found by diff,
// a commit denied by policy, one rejected by the CRD schema, and an apply
// that changes nothing.
func TestApplyLifecycle(t *testing.T) {
	kubeconfig := env.Kubeconfig(t)
	repo := gitfixture.FromDir(t, "../../examples/repo", "bookinfo mesh")
	cache := t.TempDir()
	apply := func(t *testing.T, extra ...string) (int, string, string) {
		args := append([]string{"apply", "--repo", repo.URL(), "--ref", "main", "--path", "overlays/prod",
			"--kubeconfig", kubeconfig, "--cache-dir", cache}, extra...)
		return reconciler(t, args...)
	}
	diff := func(t *testing.T, extra ...string) (int, string, string) {
		args := append([]string{"diff", "--repo", repo.URL(), "--ref", "main", "--path", "overlays/prod",
			"--kubeconfig", kubeconfig, "--cache-dir", cache}, extra...)
		return reconciler(t, args...)
	}

	// The namespace exists with labels and annotations of its own.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        "bookinfo",
		Labels:      map[string]string{"team": "books"},
		Annotations: map[string]string{"owner": "books@example.com"},
	}}
	create(t, ns)

	t.Run("the first apply creates every object with our field manager and keeps the namespace's own labels", func(t *testing.T) {
		if code, _, _ := apply(t); code != cli.ExitOK {
			t.Fatalf("apply exited %d", code)
		}
		vs := mustGet(t, vsGVK, "bookinfo", "reviews")
		if got := vs.GetLabels()["app.kubernetes.io/managed-by"]; got != "meshintent" {
			t.Errorf("managed-by label = %q", got)
		}
		var managers []string
		for _, mf := range vs.GetManagedFields() {
			managers = append(managers, mf.Manager)
		}
		if diff := cmp.Diff([]string{"meshintent"}, managers); diff != "" {
			t.Errorf("field managers of reviews (-want +got):\n%s", diff)
		}
		mustGet(t, drGVK, "bookinfo", "ratings")
		live := &corev1.Namespace{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "bookinfo"}, live); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"team": "books", "istio-injection": "enabled"} {
			if live.Labels[k] != v {
				t.Errorf("namespace label %s = %q, want %q", k, live.Labels[k], v)
			}
		}
		if live.Annotations["owner"] != "books@example.com" {
			t.Errorf("namespace annotations lost: %v", live.Annotations)
		}
	})

	t.Run("a second identical apply makes zero writes", func(t *testing.T) {
		before := resourceVersions(t, "bookinfo")
		code, stdout, _ := apply(t)
		if code != cli.ExitOK {
			t.Fatalf("apply exited %d", code)
		}
		if diff := cmp.Diff(before, resourceVersions(t, "bookinfo")); diff != "" {
			t.Errorf("resourceVersions moved (-before +after):\n%s", diff)
		}
		if strings.Contains(stdout, " configured") || strings.Contains(stdout, " created") {
			t.Errorf("apply reported changes:\n%s", stdout)
		}
	})

	t.Run("a commit that changes weights updates the VirtualService", func(t *testing.T) {
		repo.Edit("overlays/prod/reviews.yaml", "weight: 80", "weight: 60")
		repo.Edit("overlays/prod/reviews.yaml", "weight: 15", "weight: 35")
		repo.Commit("more v2")
		if code, _, _ := apply(t); code != cli.ExitOK {
			t.Fatalf("apply exited %d", code)
		}
		// v3 stays suspended: its weight goes to the others in proportion.
		got := splitWeights(t, mustGet(t, vsGVK, "bookinfo", "reviews"))
		var sum int64
		for _, w := range got {
			sum += w
		}
		if sum != 100 || got[0] < 60 || got[1] < 35 {
			t.Errorf("reviews split weights = %v, want about 60/35 (+v3's 5) summing to 100", got)
		}
	})

	t.Run("removing an intent with prune deletes its objects and keeps the namespace", func(t *testing.T) {
		repo.Edit("base/kustomization.yaml", "- ratings.yaml\n", "")
		repo.Remove("base/ratings.yaml")
		repo.Commit("retire ratings")
		if code, stdout, _ := apply(t, "--prune"); code != cli.ExitOK || !strings.Contains(stdout, "deleted") {
			t.Fatalf("apply --prune exited %d:\n%s", code, stdout)
		}
		for _, gvk := range []schema.GroupVersionKind{vsGVK, drGVK} {
			env.CheckAbsent(t, gvk, "bookinfo", "ratings")
		}
		mustGet(t, vsGVK, "bookinfo", "reviews")
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "bookinfo"}, &corev1.Namespace{}); err != nil {
			t.Errorf("namespace gone: %v", err)
		}
	})

	t.Run("a hand edit of a weight shows in diff with the field and the manager", func(t *testing.T) {
		if code, stdout, _ := diff(t); code != cli.ExitOK {
			t.Fatalf("diff before the edit exited %d:\n%s", code, stdout)
		}
		vs := mustGet(t, vsGVK, "bookinfo", "reviews")
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		last := len(http) - 1
		patch := `[{"op":"replace","path":"/spec/http/` + strconv.Itoa(last) + `/route/0/weight","value":1}]`
		out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "patch", "virtualservice", "reviews",
			"-n", "bookinfo", "--type=json", "-p", patch).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl patch: %v\n%s", err, out)
		}
		code, stdout, _ := diff(t, "-o", "json")
		if code != cli.ExitDenied {
			t.Fatalf("diff exited %d, want 1 (drift)", code)
		}
		for _, want := range []string{`".spec.http[` + strconv.Itoa(last) + `].route[0].weight"`, `"kubectl-patch"`, `"VirtualService/bookinfo/reviews"`} {
			if !strings.Contains(stdout, want) {
				t.Errorf("diff output lacks %s:\n%s", want, stdout)
			}
		}
		// Correcting takes the field back.
		if code, _, _ := apply(t, "--force"); code != cli.ExitOK {
			t.Fatalf("apply --force exited %d", code)
		}
		if code, stdout, _ := diff(t); code != cli.ExitOK {
			t.Errorf("diff after correction exited %d:\n%s", code, stdout)
		}
	})

	t.Run("a commit denied by policy applies nothing", func(t *testing.T) {
		before := resourceVersions(t, "bookinfo")
		repo.Write("base/mongodb.yaml", testdataFile(t, "wildcard-host-vs.yaml"))
		repo.Edit("base/kustomization.yaml", "- reviews.yaml\n", "- reviews.yaml\n- mongodb.yaml\n")
		repo.Edit("overlays/prod/reviews.yaml", "weight: 60", "weight: 50")
		repo.Edit("overlays/prod/reviews.yaml", "weight: 35", "weight: 45")
		repo.Commit("wildcard host")
		code, _, stderr := apply(t, "--prune")
		if code != cli.ExitDenied {
			t.Fatalf("apply exited %d, want 1", code)
		}
		for _, want := range []string{"meshintent.wildcardhosts", "base/mongodb.yaml", "nothing applied"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if diff := cmp.Diff(before, resourceVersions(t, "bookinfo")); diff != "" {
			t.Errorf("the cluster changed (-before +after):\n%s", diff)
		}
	})

	t.Run("a commit the CRD schema rejects applies nothing and names the file", func(t *testing.T) {
		before := resourceVersions(t, "bookinfo")
		repo.Write("base/mongodb.yaml", testdataFile(t, "unknown-load-balancer-dr.yaml"))
		repo.Commit("bad load balancer")
		code, _, stderr := apply(t, "--prune")
		if code != cli.ExitError {
			t.Fatalf("apply exited %d, want 2", code)
		}
		for _, want := range []string{"DestinationRule/bookinfo/mongodb", "base/mongodb.yaml", "FASTEST", "nothing applied"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if diff := cmp.Diff(before, resourceVersions(t, "bookinfo")); diff != "" {
			t.Errorf("the cluster changed (-before +after):\n%s", diff)
		}
	})

	t.Run("a dry-run reports what would change and writes nothing", func(t *testing.T) {
		repo.Remove("base/mongodb.yaml")
		repo.Edit("base/kustomization.yaml", "- mongodb.yaml\n", "")
		repo.Commit("drop mongodb")
		before := resourceVersions(t, "bookinfo")
		code, stdout, _ := apply(t, "--dry-run")
		if code != cli.ExitOK || !strings.Contains(stdout, "VirtualService/bookinfo/reviews configured") {
			t.Fatalf("dry-run exited %d:\n%s", code, stdout)
		}
		if diff := cmp.Diff(before, resourceVersions(t, "bookinfo")); diff != "" {
			t.Errorf("dry-run wrote (-before +after):\n%s", diff)
		}
	})
}

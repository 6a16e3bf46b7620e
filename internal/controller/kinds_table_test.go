package controller

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// TestRBACMatchesKindsTable checks that the ClusterRole the RBAC markers of
// rbac.go generate (config/rbac/role.yaml, kept fresh by api/v1alpha1's
// TestGeneratedFilesAreFresh) grants, in Istio's API groups, exactly what
// the table of managed kinds needs (meshkinds.Kind.Verbs): a kind added to
// the table without a marker, a marker left behind after a kind is removed,
// or a verb too many or too few fails here.
func TestRBACMatchesKindsTable(t *testing.T) {
	role := clusterRole(t, filepath.Join("..", "..", "config", "rbac", "role.yaml"), "meshintent-reconciler")
	if diff := rbacDiff(role.Rules, meshkinds.All()); diff != "" {
		t.Errorf("ClusterRole meshintent-reconciler in Istio's groups, per group/resource (-table needs +markers grant):\n%s", diff)
	}

	// The comparison finds each way the two can drift apart.
	vs := meshkinds.VirtualService
	for _, tc := range []struct {
		name  string
		rules []rbacv1.PolicyRule
	}{
		{"a verb is missing", []rbacv1.PolicyRule{{APIGroups: []string{vs.Group}, Resources: []string{vs.Resource}, Verbs: []string{"get", "list", "watch", "create", "patch"}}}},
		{"a verb is too many", []rbacv1.PolicyRule{{APIGroups: []string{vs.Group}, Resources: []string{vs.Resource}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete", "update"}}}},
		{"a resource is not in the table", []rbacv1.PolicyRule{
			{APIGroups: []string{vs.Group}, Resources: []string{vs.Resource}, Verbs: vs.Verbs()},
			{APIGroups: []string{vs.Group}, Resources: []string{"proxyconfigs"}, Verbs: []string{"list"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rbacDiff(tc.rules, []meshkinds.Kind{vs}) == "" {
				t.Errorf("rbacDiff(%v) is empty, want a difference", tc.rules)
			}
		})
	}
	whole := []rbacv1.PolicyRule{
		{APIGroups: []string{vs.Group}, Resources: []string{vs.Resource}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{vs.Group}, Resources: []string{vs.Resource}, Verbs: []string{"create", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
	}
	if diff := rbacDiff(whole, []meshkinds.Kind{vs}); diff != "" {
		t.Errorf("rules split over two markers, and another group: (-want +got):\n%s", diff)
	}
}

// rbacDiff compares what rules grant in the API groups of kinds, per
// group/resource, with what kinds need (meshkinds.Kind.Verbs).
func rbacDiff(rules []rbacv1.PolicyRule, kinds []meshkinds.Kind) string {
	want := map[string][]string{}
	groups := map[string]bool{}
	for _, k := range kinds {
		groups[k.Group] = true
		if v := k.Verbs(); v != nil {
			want[k.Group+"/"+k.Resource] = v
		}
	}
	got := map[string][]string{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			if !groups[g] {
				continue
			}
			for _, res := range r.Resources {
				key := g + "/" + res
				got[key] = append(got[key], r.Verbs...)
				slices.Sort(got[key])
				got[key] = slices.Compact(got[key])
			}
		}
	}
	return cmp.Diff(want, got)
}

// clusterRole returns the ClusterRole name of the multi-document file path.
func clusterRole(t *testing.T, path, name string) rbacv1.ClusterRole {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var role rbacv1.ClusterRole
		if err := dec.Decode(&role); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		if role.Kind == "ClusterRole" && role.Name == name {
			return role
		}
	}
	t.Fatalf("no ClusterRole %s in %s", name, path)
	return rbacv1.ClusterRole{}
}

package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
)

// tenantServiceAccount makes ServiceAccount name in ns with the rights of a
// tenant: the mesh kinds in ns only, its own inventory ConfigMap in the
// inventory namespace, and reading Namespaces (apply checks that the
// namespaces of its objects exist). It may not write anywhere else.
func tenantServiceAccount(t *testing.T, ns, name string) {
	t.Helper()
	ctx := t.Context()
	for _, n := range []string{apply.DefaultInventoryNamespace, "istio-system"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh-writer"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io"},
				Resources: []string{"*"}, Verbs: []string{"get", "list", "watch", "create", "patch", "update", "delete"},
			}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh-writer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "mesh-writer"},
			Subjects:   subject,
		},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-namespace-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-namespace-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ns + "-namespace-reader"},
			Subjects:   subject,
		},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: apply.DefaultInventoryNamespace, Name: ns + "-inventory"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "patch", "update", "delete"},
					ResourceNames: []string{ns + ".mesh"}},
			},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: apply.DefaultInventoryNamespace, Name: ns + "-inventory"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ns + "-inventory"},
			Subjects:   subject,
		},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T: %v", o, err)
		}
		if o.GetNamespace() == "" {
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
		}
	}
}

// TestImpersonation checks that a sync impersonating a tenant's
// ServiceAccount (named by spec.serviceAccountName or by the controller's
// default) cannot write outside the tenant's rights whatever its
// repository says: the revision fails whole with ImpersonationDenied
// naming the ServiceAccount, the verb and the object, nothing of it is
// applied, and a revision within the rights is applied as the tenant.
func TestImpersonation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// spec is spec.serviceAccountName, def the controller's default.
		spec, def string
	}{
		{name: "spec.serviceAccountName is impersonated", spec: "deployer"},
		{name: "the default service account is impersonated when the spec names none", def: "deployer"},
		{name: "spec.serviceAccountName wins over the default", spec: "deployer", def: "nobody"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := env.Namespace(t)
			tenantServiceAccount(t, ns, "deployer")
			repo := newIntentRepo(t, map[string]string{
				"reviews.yaml": serviceIntent(ns, "reviews", 80, 20),
				"escape.yaml":  serviceIntent("istio-system", "escape-"+ns[len(ns)-8:], 50, 50),
			})
			startManager(t, ns, func(o *Options) { o.DefaultServiceAccount = tc.def })
			obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
				s.ServiceAccountName = tc.spec
				s.Prune = true
			})

			got := waitReason(t, obj, v1alpha1.ReasonImpersonationDenied, 30*time.Second)
			msg := condition(got, v1alpha1.ConditionReady).Message
			// The dry-run's first request for an object reads it: that is
			// what the API server refuses.
			for _, want := range []string{
				"ServiceAccount " + ns + "/deployer",
				"may not get VirtualService/istio-system/escape-" + ns[len(ns)-8:] + " (escape.yaml)",
				`User "system:serviceaccount:` + ns + `:deployer" cannot get resource "virtualservices"`,
				"nothing of revision main@sha1:" + repo.head + " was applied",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("Ready message %q does not contain %q", msg, want)
				}
			}
			if condition(got, v1alpha1.ConditionStalled).Status != metav1.ConditionTrue {
				t.Error("a denied revision did not stall the IntentSync")
			}
			for _, target := range [][2]string{{ns, "reviews"}, {"istio-system", "escape-" + ns[len(ns)-8:]}} {
				env.CheckAbsent(t, vsGVK, target[0], target[1])
			}

			// Within the tenant's rights, the revision is applied.
			repo.Remove("escape.yaml")
			head := repo.commit(nil)
			triggerSync(t, obj)
			waitReady(t, obj, "main@sha1:"+head, 30*time.Second)
			vs := mustGet(t, vsGVK, ns, "reviews")
			if w := weights(vs); len(w) != 2 || w[0] != 80 {
				t.Errorf("reviews weights %v, want [80 20]", w)
			}
		})
	}
}

package testenv

import (
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// ServiceAccountToken creates a ServiceAccount name in ns and returns a
// token for it from the TokenRequest API; with rights, a Role lets it get,
// list and watch IntentSyncs in ns.
func (e *Env) ServiceAccountToken(t testing.TB, ns, name string, rights bool) string {
	t.Helper()
	meta := metav1.ObjectMeta{Namespace: ns, Name: name}
	objs := []client.Object{&corev1.ServiceAccount{ObjectMeta: meta}}
	if rights {
		objs = append(objs,
			&rbacv1.Role{ObjectMeta: meta,
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.Group}, Resources: []string{"intentsyncs"}, Verbs: []string{"get", "list", "watch"}}}},
			&rbacv1.RoleBinding{ObjectMeta: meta,
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}}})
	}
	for _, o := range objs {
		if err := e.Client.Create(t.Context(), o); err != nil {
			t.Fatalf("creating %T %s/%s: %v", o, ns, name, err)
		}
	}
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

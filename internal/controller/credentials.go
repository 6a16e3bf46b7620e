package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/source"
)

// Keys of the Git credentials Secret named by spec.source.secretRef.
const (
	SecretUsername    = "username"
	SecretPassword    = "password"
	SecretBearerToken = "bearerToken"
	SecretIdentity    = "identity"
	SecretKnownHosts  = "known_hosts"
)

// SecretReaderClusterRole is the ClusterRole (config/rbac) that a namespace
// binds to the controller's ServiceAccount, with a RoleBinding of its own,
// to let the controller read the Secrets its IntentSyncs name. The install
// grants Secret access in meshintent-system only.
const SecretReaderClusterRole = "meshintent-reconciler-secrets"

// auth reads the Git credentials of obj, or returns nil for anonymous
// access. The Secret is read in obj's namespace only, one Get (never a
// list or a watch), so the controller needs "get secrets" nowhere but in
// the namespaces of IntentSyncs that name one. Errors name the Secret,
// never its content; a Forbidden one says how to grant the access.
func (r *IntentSyncReconciler) auth(ctx context.Context, obj *v1alpha1.IntentSync) (*source.Auth, error) {
	ref := obj.Spec.Source.SecretRef
	if ref == nil || ref.Name == "" {
		return nil, nil
	}
	var s corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: ref.Name}, &s); err != nil {
		return nil, fmt.Errorf("reading credentials secret %s/%s: %w", obj.Namespace, ref.Name, secretAccessHint(err, obj.Namespace))
	}
	return &source.Auth{
		Username:      string(s.Data[SecretUsername]),
		Password:      string(s.Data[SecretPassword]),
		BearerToken:   string(s.Data[SecretBearerToken]),
		SSHPrivateKey: s.Data[SecretIdentity],
		SSHKnownHosts: s.Data[SecretKnownHosts],
	}, nil
}

// secretAccessHint adds to a Forbidden error from reading a Secret in
// namespace how to grant the controller that access; other errors are
// returned as they are.
func secretAccessHint(err error, namespace string) error {
	if !apierrors.IsForbidden(err) {
		return err
	}
	return fmt.Errorf("%w (the controller reads Secrets only where it is granted: bind ClusterRole %s to its ServiceAccount with a RoleBinding in namespace %s)",
		err, SecretReaderClusterRole, namespace)
}

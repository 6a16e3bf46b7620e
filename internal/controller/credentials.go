package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
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

// auth reads the Git credentials of obj, or returns nil for anonymous
// access. Errors name the Secret, never its content.
func (r *IntentSyncReconciler) auth(ctx context.Context, obj *v1alpha1.IntentSync) (*source.Auth, error) {
	ref := obj.Spec.Source.SecretRef
	if ref == nil || ref.Name == "" {
		return nil, nil
	}
	var s corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: ref.Name}, &s); err != nil {
		return nil, fmt.Errorf("reading credentials secret %s/%s: %w", obj.Namespace, ref.Name, err)
	}
	return &source.Auth{
		Username:      string(s.Data[SecretUsername]),
		Password:      string(s.Data[SecretPassword]),
		BearerToken:   string(s.Data[SecretBearerToken]),
		SSHPrivateKey: s.Data[SecretIdentity],
		SSHKnownHosts: s.Data[SecretKnownHosts],
	}, nil
}

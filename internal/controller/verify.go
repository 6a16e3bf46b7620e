package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/source"
)

// verify checks the signatures spec.source.verify asks for on art, the
// revision just fetched, and records the signer in
// status.lastVerifiedCommit. It returns nil when nothing is asked or the
// signatures are good; else the failure, with reason VerificationFailed,
// which ends the reconcile before anything of art is rendered or applied,
// so that the cluster keeps the last good revision.
//
// A refused signature, or a spec or key Secret that cannot work, stalls
// the sync; it is checked again at each poll, so that a new commit, or a
// key added to the Secret, is picked up without a spec change. A Secret
// that cannot be read, or a cache or network error while reading the
// signed objects, is retried with backoff.
func (r *IntentSyncReconciler) verify(ctx context.Context, obj *v1alpha1.IntentSync, art *source.Artifact) *failure {
	v := obj.Spec.Source.Verify
	if v == nil {
		return nil
	}
	fail := func(err error, stalled bool) *failure {
		return &failure{step: "fetch", reason: v1alpha1.ReasonVerificationFailed, revision: art.Revision,
			err: err, stalled: stalled, retry: stalled}
	}
	mode, err := source.ParseVerifyMode(string(v.Mode))
	if err != nil {
		return fail(fmt.Errorf("spec.source.verify.mode: %w", err), true)
	}
	if mode != source.VerifyHEAD && obj.Spec.Source.Tag == "" {
		return fail(fmt.Errorf("spec.source.verify.mode %s checks the signature of spec.source.tag, which is not set", mode), true)
	}
	keys, unreadable, err := r.trustedKeys(ctx, obj, v.SecretRef.Name)
	if err != nil {
		return fail(err, !unreadable)
	}
	auth, err := r.auth(ctx, obj)
	if err != nil {
		return fail(err, false)
	}
	src := obj.Spec.Source
	opts := source.Options{
		URL:  src.URL,
		Ref:  source.Ref{Branch: src.Branch, Tag: src.Tag, Commit: src.Commit},
		Auth: auth,
	}
	if src.Timeout != nil {
		opts.Timeout = src.Timeout.Duration
	}
	res, err := r.Fetcher.Verify(ctx, opts, art, source.VerifyOptions{Mode: mode, Keys: keys})
	if err != nil {
		_, refused := errors.AsType[*source.VerificationError](err)
		return fail(err, refused && ctx.Err() == nil)
	}
	obj.Status.LastVerifiedCommit = res.String()
	return nil
}

// trustedKeys reads the key ring of the Secret name in obj's namespace:
// every key of its data is a file of trusted keys (armored OpenPGP public
// keys or allowed_signers). Like the credentials Secret it is read with one
// Get, never cached or listed; errors name the Secret and its key, never
// its content. unreadable says the Secret could not be read (it may appear,
// or access be granted), rather than hold no usable key.
func (r *IntentSyncReconciler) trustedKeys(ctx context.Context, obj *v1alpha1.IntentSync, name string) (keys *source.KeyRing, unreadable bool, err error) {
	var s corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, &s); err != nil {
		return nil, true, fmt.Errorf("reading trusted keys secret %s/%s: %w", obj.Namespace, name, secretAccessHint(err, obj.Namespace))
	}
	names := make([]string, 0, len(s.Data))
	for k := range s.Data {
		names = append(names, k)
	}
	slices.Sort(names)
	files := make([]source.KeyFile, 0, len(names))
	for _, k := range names {
		files = append(files, source.KeyFile{Name: fmt.Sprintf("secret %s/%s key %s", obj.Namespace, name, k), Data: s.Data[k]})
	}
	if keys, err = source.ParseKeyRing(files...); err != nil {
		return nil, false, fmt.Errorf("spec.source.verify.secretRef: %w", err)
	}
	return keys, false, nil
}

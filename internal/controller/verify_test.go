package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestSyncVerifiesSignatures follows a branch whose commits must be signed
// by a key of a Secret: a signed commit is applied; a force-push to an
// unsigned commit, then a commit signed by an untrusted key, stall the
// sync with VerificationFailed and leave the cluster and the applied
// revision as they were; a commit signed by a trusted SSH key is applied.
func TestSyncVerifiesSignatures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	alice := gitfixture.NewGPGKey(t, "Alice <alice@example.com>")
	mallory := gitfixture.NewGPGKey(t, "Mallory <mallory@example.com>")
	bob := gitfixture.NewSSHKey(t, "bob@example.com")

	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns) // an unsigned first commit
	repo.setFiles(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 70, 30)})
	signed := repo.CommitSigned("signed by alice", alice)
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "trusted-keys"},
		Data:       map[string][]byte{"alice.asc": []byte(alice.Trusted()), "allowed_signers": []byte(bob.Trusted())},
	}
	if err := env.Client.Create(ctx, keys); err != nil {
		t.Fatal(err)
	}
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.Interval.Duration = time.Second
		s.Source.Verify = &v1alpha1.GitVerification{Mode: v1alpha1.VerifyHEAD, SecretRef: v1alpha1.LocalObjectReference{Name: keys.Name}}
	})
	signedRev := "main@sha1:" + signed

	t.Run("a commit signed by a trusted OpenPGP key is applied and its signer recorded", func(t *testing.T) {
		got := waitReady(t, obj, signedRev, 30*time.Second)
		want := signed + " by Alice <alice@example.com> (OpenPGP key " + alice.Fingerprint + ")"
		if got.Status.LastVerifiedCommit != want {
			t.Errorf("lastVerifiedCommit = %q, want %q", got.Status.LastVerifiedCommit, want)
		}
		checkWeights(t, ns, "reviews", 70, 30)
	})

	// stalls checks that the head commit is refused with a message holding
	// parts, and that nothing of it reached the cluster.
	stalls := func(t *testing.T, commit string, parts ...string) {
		t.Helper()
		before := resourceVersions(t, ns)
		rev := "main@sha1:" + commit
		var got *v1alpha1.IntentSync
		eventually(t, 30*time.Second, func() error {
			got = getSync(t, obj)
			if r := condition(got, v1alpha1.ConditionReady); r.Reason != v1alpha1.ReasonVerificationFailed || got.Status.LastFetchedRevision != rev {
				return fmt.Errorf("Ready=%s %s %q, lastFetchedRevision %q; want VerificationFailed of %s", r.Status, r.Reason, r.Message, got.Status.LastFetchedRevision, rev)
			}
			return nil
		})
		ready := condition(got, v1alpha1.ConditionReady)
		for _, p := range parts {
			if !strings.Contains(ready.Message, p) {
				t.Errorf("Ready message %q lacks %q", ready.Message, p)
			}
		}
		if ready.Status != metav1.ConditionFalse {
			t.Errorf("Ready = %s, want False", ready.Status)
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonVerificationFailed {
			t.Errorf("Stalled = %s %s, want True VerificationFailed", c.Status, c.Reason)
		}
		if got.Status.LastAppliedRevision != signedRev {
			t.Errorf("lastAppliedRevision = %q, want the last good %q", got.Status.LastAppliedRevision, signedRev)
		}
		if !strings.HasPrefix(got.Status.LastVerifiedCommit, signed+" by ") {
			t.Errorf("lastVerifiedCommit = %q, want the last good commit's", got.Status.LastVerifiedCommit)
		}
		if h := got.Status.History; len(h) == 0 || h[0].Result != v1alpha1.ReasonVerificationFailed || h[0].Revision != rev {
			t.Errorf("history = %+v, want a VerificationFailed attempt of %s first", h, rev)
		}
		waitEvent(t, obj, v1alpha1.ReasonVerificationFailed, 5*time.Second, commit)
		time.Sleep(2 * time.Second) // two more polls
		if diff := cmp.Diff(before, resourceVersions(t, ns)); diff != "" {
			t.Errorf("objects were written (-before +after):\n%s", diff)
		}
		checkWeights(t, ns, "reviews", 70, 30)
		if got := getSync(t, obj); got.Status.LastAppliedRevision != signedRev {
			t.Errorf("after more polls lastAppliedRevision = %q, want %q", got.Status.LastAppliedRevision, signedRev)
		}
	}

	t.Run("a force-push to an unsigned commit stalls the sync and applies nothing of it", func(t *testing.T) {
		repo.Git("reset", "-q", "--hard", "HEAD~1")
		unsigned := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 10, 90)})
		stalls(t, unsigned, "commit "+unsigned+" is not signed")
	})

	t.Run("a commit signed by an untrusted key stalls the sync, naming the key found", func(t *testing.T) {
		repo.setFiles(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 20, 80)})
		forged := repo.CommitSigned("signed by mallory", mallory)
		stalls(t, forged, "commit "+forged+" is signed by OpenPGP key "+mallory.Fingerprint+", which is not a trusted key")
	})

	t.Run("a commit signed by a trusted SSH key is applied again", func(t *testing.T) {
		repo.setFiles(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
		good := repo.CommitSigned("signed by bob", bob)
		got := waitReady(t, obj, "main@sha1:"+good, 30*time.Second)
		if !strings.HasPrefix(got.Status.LastVerifiedCommit, good+" by bob@example.com (SSH key SHA256:") {
			t.Errorf("lastVerifiedCommit = %q", got.Status.LastVerifiedCommit)
		}
		if c := condition(got, v1alpha1.ConditionStalled); c.Status == metav1.ConditionTrue {
			t.Errorf("still Stalled: %s", c.Message)
		}
		checkWeights(t, ns, "reviews", 50, 50)
	})
}

// TestSyncVerificationNeedsItsSecret shows that a missing keys Secret is
// VerificationFailed without applying anything, and that the sync goes on
// once the Secret is created.
func TestSyncVerificationNeedsItsSecret(t *testing.T) {
	t.Parallel()
	alice := gitfixture.NewGPGKey(t, "Alice <alice@example.com>")
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	signed := repo.CommitSigned("signed by alice", alice)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.Source.Verify = &v1alpha1.GitVerification{SecretRef: v1alpha1.LocalObjectReference{Name: "keys"}}
	})

	got := waitReason(t, obj, v1alpha1.ReasonVerificationFailed, 30*time.Second)
	if msg := condition(got, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "reading trusted keys secret "+ns+"/keys") {
		t.Errorf("Ready message = %q", msg)
	}
	if got.Status.LastAppliedRevision != "" {
		t.Errorf("lastAppliedRevision = %q, want none", got.Status.LastAppliedRevision)
	}
	if _, err := get(vsGVK, ns, "reviews"); err == nil {
		t.Error("the VirtualService was applied without verification")
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
		Data: map[string][]byte{"alice": []byte(alice.Trusted())}}
	if err := env.Client.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	waitReady(t, obj, "main@sha1:"+signed, 30*time.Second)
}

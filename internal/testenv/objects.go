package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// ResourceVersions returns the resourceVersion of every object of the kinds
// gvks in namespace ns (in every namespace when ns is empty; a
// cluster-scoped kind is always listed whole), keyed
// Kind/namespace/name, the namespace empty for a cluster-scoped object.
// Two equal results mean that no object of those kinds was created,
// written or deleted in between: it is how the tests assert that nothing
// was written. It fails the test when a kind cannot be listed.
func (e *Env) ResourceVersions(t testing.TB, ns string, gvks ...schema.GroupVersionKind) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs, err := e.List(ctx, ns, gvks...)
	if err != nil {
		t.Fatalf("snapshotting resourceVersions: %v", err)
	}
	out := make(map[string]string, len(objs))
	for _, u := range objs {
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.GetResourceVersion()
	}
	return out
}

// Condition returns the condition typ of obj's status, or an empty
// condition of that type (Status "") when obj has none.
func Condition(obj *v1alpha1.IntentSync, typ string) metav1.Condition {
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{Type: typ}
}

// GetIntentSync reads the IntentSync named like obj, with a deadline of
// 10s, so that a test polling through an API server that is down keeps
// polling.
func (e *Env) GetIntentSync(obj client.Object) (*v1alpha1.IntentSync, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := &v1alpha1.IntentSync{}
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		return nil, fmt.Errorf("reading IntentSync %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return got, nil
}

// WaitIntentSync reads the IntentSync named like obj every 100ms until
// check accepts it (returns nil) and returns what it accepted. When timeout
// passes first it fails the test with check's last error, or the read's.
func (e *Env) WaitIntentSync(t testing.TB, obj client.Object, timeout time.Duration, check func(*v1alpha1.IntentSync) error) *v1alpha1.IntentSync {
	t.Helper()
	var got *v1alpha1.IntentSync
	Eventually(t, timeout, func() error {
		s, err := e.GetIntentSync(obj)
		if err != nil {
			return err
		}
		if err := check(s); err != nil {
			return err
		}
		got = s
		return nil
	})
	return got
}

// ReadyAt is a check for WaitIntentSync: Ready is True and the last
// applied revision is revision.
func ReadyAt(revision string) func(*v1alpha1.IntentSync) error {
	return func(s *v1alpha1.IntentSync) error {
		ready := Condition(s, v1alpha1.ConditionReady)
		if ready.Status != metav1.ConditionTrue || s.Status.LastAppliedRevision != revision {
			return fmt.Errorf("Ready=%s %s %q, lastAppliedRevision %q, want %s", ready.Status, ready.Reason, ready.Message, s.Status.LastAppliedRevision, revision)
		}
		return nil
	}
}

// ReadyReason is a check for WaitIntentSync: Ready has reason, whatever
// its status.
func ReadyReason(reason string) func(*v1alpha1.IntentSync) error {
	return func(s *v1alpha1.IntentSync) error {
		if ready := Condition(s, v1alpha1.ConditionReady); ready.Reason != reason {
			return fmt.Errorf("Ready=%s %s %q, want reason %s", ready.Status, ready.Reason, ready.Message, reason)
		}
		return nil
	}
}

// NotReady is a check for WaitIntentSync: Ready is False, with reason
// unless reason is empty, and a message containing every one of parts.
func NotReady(reason string, parts ...string) func(*v1alpha1.IntentSync) error {
	return func(s *v1alpha1.IntentSync) error {
		ready := Condition(s, v1alpha1.ConditionReady)
		ok := ready.Status == metav1.ConditionFalse && (reason == "" || ready.Reason == reason)
		for _, p := range parts {
			ok = ok && strings.Contains(ready.Message, p)
		}
		if !ok {
			return fmt.Errorf("Ready=%s %s %q, want False %s naming %q", ready.Status, ready.Reason, ready.Message, reason, parts)
		}
		return nil
	}
}

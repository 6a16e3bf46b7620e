package apply

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestConflictError(t *testing.T) {
	t.Run("the managers and fields of a 409 are parsed", func(t *testing.T) {
		status := apierrors.NewConflict(schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}, "reviews", errors.New("Apply failed with 2 conflicts"))
		status.ErrStatus.Details.Causes = []metav1.StatusCause{
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using networking.istio.io/v1`, Field: ".spec.http"},
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "helm"`, Field: ".spec.hosts"},
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using networking.istio.io/v1 at 2026-01-02T03:04:05Z`, Field: ".spec.gateways"},
		}
		err := asConflict(status)
		var c *ConflictError
		if !errors.As(err, &c) {
			t.Fatalf("asConflict returned %T, want *ConflictError", err)
		}
		want := []Conflict{
			{Manager: "kubectl-edit", Field: ".spec.http"},
			{Manager: "helm", Field: ".spec.hosts"},
			{Manager: "kubectl-edit", Field: ".spec.gateways"},
		}
		if diff := cmp.Diff(want, c.Conflicts); diff != "" {
			t.Errorf("conflicts (-want +got):\n%s", diff)
		}
		wantMsg := `conflict with other field managers: "helm" owns .spec.hosts; "kubectl-edit" owns .spec.http, .spec.gateways; apply with force to take these fields over`
		if diff := cmp.Diff(wantMsg, err.Error()); diff != "" {
			t.Errorf("message (-want +got):\n%s", diff)
		}
		if !apierrors.IsConflict(err) {
			t.Error("apierrors.IsConflict = false")
		}
	})

	t.Run("other errors pass through unchanged", func(t *testing.T) {
		in := apierrors.NewBadRequest("nope")
		if got := asConflict(in); got != error(in) { //nolint:errorlint // identity: the very error must come back, not one wrapping it
			t.Errorf("asConflict(%v) = %v", in, got)
		}
	})
}

func TestFieldPath(t *testing.T) {
	p := fieldPath{{key: "metadata", index: -1}, {key: "labels", index: -1}, {key: "istio.io/rev", index: -1}}
	if got, want := p.String(), `.metadata.labels["istio.io/rev"]`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if got, want := p.Pointer(), "/metadata/labels/istio.io~1rev"; got != want {
		t.Errorf("Pointer() = %s, want %s", got, want)
	}
	rules, err := compileIgnores([]IgnoreRule{{Paths: []string{"/metadata/labels/istio.io~1rev"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !rules.ignored(ObjectRef{Kind: "Namespace"}, p) {
		t.Error("an escaped pointer does not match its path")
	}
	if _, err := compileIgnores([]IgnoreRule{{Paths: []string{"spec/http"}}}); err == nil {
		t.Error("a pointer without a leading / was accepted")
	}
}

func TestDryRunErrorCounts(t *testing.T) {
	fail := &ObjectError{ID: "VirtualService/a/x", Err: errors.New("invalid")}
	for _, tc := range []struct {
		name string
		err  *DryRunError
		want string
	}{
		{"one object of one", &DryRunError{Failures: []*ObjectError{fail}, Total: 1},
			"dry-run failed for 1 of 1 object, nothing was applied:\n  VirtualService/a/x: invalid"},
		{"one object of two", &DryRunError{Failures: []*ObjectError{fail}, Total: 2},
			"dry-run failed for 1 of 2 objects, nothing was applied:\n  VirtualService/a/x: invalid"},
		{"one namespace created", &DryRunError{Failures: []*ObjectError{fail}, Total: 3, NamespacesCreated: []string{"a"}},
			"dry-run failed for 1 of 3 objects, only namespace a was created:\n  VirtualService/a/x: invalid"},
		{"two namespaces created", &DryRunError{Failures: []*ObjectError{fail}, Total: 3, NamespacesCreated: []string{"a", "b"}},
			"dry-run failed for 1 of 3 objects, only namespaces a, b were created:\n  VirtualService/a/x: invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

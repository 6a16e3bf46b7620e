package controller

import (
	"errors"
	"net"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshintent/meshintent/pkg/apply"
)

func TestTransientDryRun(t *testing.T) {
	gr := schema.GroupResource{Group: "networking.istio.io", Resource: "virtualservices"}
	fail := func(errs ...error) *apply.DryRunError {
		dr := &apply.DryRunError{Total: len(errs)}
		for _, e := range errs {
			dr.Failures = append(dr.Failures, &apply.ObjectError{ID: "VirtualService/ns/x", Op: "dry-run failed", Err: e})
		}
		return dr
	}
	tests := []struct {
		name string
		dr   *apply.DryRunError
		want bool
	}{
		{"a refused connection is transient", fail(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{"a server timeout is transient", fail(apierrors.NewServerTimeout(gr, "patch", 1)), true},
		{"throttling is transient", fail(apierrors.NewTooManyRequests("slow down", 1)), true},
		{"a service unavailable answer is transient", fail(apierrors.NewServiceUnavailable("etcd")), true},
		{"a schema rejection is a verdict on the revision", fail(apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "VirtualService"}, "x", nil)), false},
		{"one rejection among timeouts is still a verdict", fail(apierrors.NewServerTimeout(gr, "patch", 1), apierrors.NewBadRequest("bad")), false},
		{"a field-manager conflict is a verdict", fail(apierrors.NewConflict(gr, "x", errors.New("conflict"))), false},
		{"no failures at all is not transient", fail(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transientDryRun(tt.dr); got != tt.want {
				t.Errorf("transientDryRun = %v, want %v", got, tt.want)
			}
		})
	}
}

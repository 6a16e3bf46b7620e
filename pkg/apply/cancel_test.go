package apply_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/meshintent/meshintent/pkg/apply"
)

// TestApplyStopsBetweenStagesWhenCancelled cancels an apply at a known
// point (the client cancels the context when it sees a given request, then
// lets that request through to the real API server) and checks that no
// later stage starts: Apply returns the cancellation, and the objects of
// the stages after the cut are not written.
func TestApplyStopsBetweenStagesWhenCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// cutAt reports whether a patch is the one at which to cancel.
		cutAt func(obj client.Object, dryRun bool) bool
		// writesNothing: not even the inventory or the Namespace moves.
		writesNothing bool
	}{
		{
			name:          "a cancel during the dry-run writes nothing",
			cutAt:         func(_ client.Object, dryRun bool) bool { return dryRun },
			writesNothing: true,
		},
		{
			name: "a cancel while the Namespace is applied writes no mesh object",
			cutAt: func(obj client.Object, dryRun bool) bool {
				return !dryRun && obj.GetNamespace() == "" // the Namespace stage
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := env.Namespace(t)
			set := load(t, "bookinfo.yaml", ns)
			_, opts := newManager(ns)
			before := resourceVersions(t, set, opts.Inventory)

			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			stop := errors.New("stopped by the test")
			var once sync.Once
			wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
			if err != nil {
				t.Fatal(err)
			}
			c := interceptor.NewClient(wc, interceptor.Funcs{
				Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
					po := &client.PatchOptions{}
					po.ApplyOptions(opts)
					if tt.cutAt(obj, len(po.DryRun) > 0) {
						once.Do(func() { cancel(stop) })
						ctx = context.WithoutCancel(ctx) // this request itself goes through
					}
					return c.Patch(ctx, obj, patch, opts...)
				},
			})
			m := apply.NewManager(c, apply.Options{})
			_, err = m.Apply(ctx, set, opts)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, stop) {
				t.Fatalf("Apply returned %v, want the cancellation", err)
			}
			after := resourceVersions(t, set, opts.Inventory)
			for id := range after {
				if id == "Namespace/"+ns || id == "inventory" {
					continue // the Namespace existed, and may be the write cut short
				}
				if _, existed := before[id]; !existed {
					t.Errorf("%s was written after the cancel", id)
				}
			}
			if tt.writesNothing {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("the cluster changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}

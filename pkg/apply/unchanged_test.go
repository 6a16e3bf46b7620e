package apply_test

import (
	"context"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/meshintent/meshintent/pkg/apply"
)

// TestNoOpApplySkipsDryRuns checks that a re-apply of an unchanged set reads
// lists instead of reading and dry-running each object, and that an object
// someone else edited is still dry-run and re-applied.
func TestNoOpApplySkipsDryRuns(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := load(t, "bookinfo.yaml", ns)
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	var applies, gets atomic.Int64
	counting := interceptor.NewClient(base, interceptor.Funcs{
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			applies.Add(1)
			return c.Apply(ctx, obj, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			gets.Add(1)
			return c.Get(ctx, key, obj, opts...)
		},
	})
	m := apply.NewManager(counting, apply.DefaultOptions())
	opts := apply.ApplyOptions{Inventory: ns}
	if _, err := m.Apply(ctx, set, opts); err != nil {
		t.Fatal(err)
	}

	t.Run("an unchanged set dry-runs only the namespace, which other managers touched", func(t *testing.T) {
		applies.Store(0)
		gets.Store(0)
		res, err := m.Apply(ctx, set, opts)
		if err != nil {
			t.Fatal(err)
		}
		if n := res.ChangeSet.Count(apply.Unchanged); n != len(set) {
			t.Errorf("%d of %d objects unchanged:\n%s", n, len(set), res.ChangeSet.String())
		}
		// The Namespace was created by the test, so it has another manager
		// and takes the careful path: one read and one dry-run.
		if got := applies.Load(); got != 1 {
			t.Errorf("%d server-side applies (dry-run or not), want 1 (the Namespace's dry-run)", got)
		}
		// Reads do not grow with the set: the Namespace (checked, then
		// dry-run) and the inventory (read, then compared before writing).
		if got := gets.Load(); got > 4 {
			t.Errorf("%d object reads, want at most 4", got)
		}
	})

	t.Run("an object another manager edited is dry-run and taken back with force", func(t *testing.T) {
		vs := set[len(set)-1].DeepCopy() // the last object is a VirtualService in this fixture
		if vs.GetKind() != "VirtualService" {
			t.Fatalf("fixture order changed: last object is %s", vs.GetKind())
		}
		live := vs.DeepCopy()
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(live), live); err != nil {
			t.Fatal(err)
		}
		live.SetManagedFields(nil)
		spec := live.Object["spec"].(map[string]any)
		spec["hosts"] = []any{"edited-by-hand"}
		if err := env.Client.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		force := opts
		force.Force = true
		res, err := m.Apply(ctx, set, force)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.ChangeSet.Count(apply.Configured); got != 1 {
			t.Errorf("%d objects configured, want 1:\n%s", got, res.ChangeSet.String())
		}
	})
}

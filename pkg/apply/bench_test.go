package apply_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// benchSet returns n VirtualServices and n DestinationRules in ns, shaped
// like the ones render expands a weighted ServiceIntent into.
func benchSet(ns string, n int) manifest.Set {
	set := make(manifest.Set, 0, 2*n)
	for i := range n {
		host := fmt.Sprintf("svc-%04d", i)
		vs := benchObject("VirtualService", ns, host, map[string]any{
			"hosts": []any{host},
			"http": []any{map[string]any{
				"route": []any{
					map[string]any{"destination": map[string]any{"host": host, "subset": "v1"}, "weight": int64(90)},
					map[string]any{"destination": map[string]any{"host": host, "subset": "v2"}, "weight": int64(10)},
				},
				"timeout": "2s",
				"retries": map[string]any{"attempts": int64(3), "perTryTimeout": "500ms"},
			}},
		})
		dr := benchObject("DestinationRule", ns, host, map[string]any{
			"host": host,
			"subsets": []any{
				map[string]any{"name": "v1", "labels": map[string]any{"version": "v1"}},
				map[string]any{"name": "v2", "labels": map[string]any{"version": "v2"}},
			},
		})
		set = append(set,
			manifest.Object{Unstructured: vs, Source: "services/" + host + ".yaml"},
			manifest.Object{Unstructured: dr, Source: "services/" + host + ".yaml"})
	}
	return set
}

// benchObject is a managed Istio networking object of kind named host in
// ns, from services/<host>.yaml, with the spec.
func benchObject(kind, ns, host string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       kind,
		"metadata": map[string]any{
			"name": host, "namespace": ns,
			"labels":      map[string]any{manifest.ManagedByLabel: manifest.ManagedByValue},
			"annotations": map[string]any{manifest.SourceAnnotation: "services/" + host + ".yaml"},
		},
		"spec": spec,
	}}
}

// BenchmarkNoopApply re-applies 2,000 objects that are already applied and
// unchanged: the work of a no-op reconcile. It reports the writes made.
func BenchmarkNoopApply(b *testing.B) {
	ctx := context.Background()
	ns := env.Namespace(b)
	set := benchSet(ns, 1000)
	m := apply.NewManager(env.Client, apply.DefaultOptions())
	opts := apply.ApplyOptions{Inventory: "bench", Revision: "bench"}
	if _, err := m.Apply(ctx, set, opts); err != nil {
		b.Fatal(err)
	}
	writes := 0
	b.ResetTimer()
	for b.Loop() {
		res, err := m.Apply(ctx, set, opts)
		if err != nil {
			b.Fatal(err)
		}
		writes += len(res.ChangeSet.Entries) - res.ChangeSet.Count(apply.Unchanged)
	}
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

// BenchmarkFirstApply applies 2,000 objects into a new namespace: the work
// of a first sync. It reports the requests made per object, by the
// Manager's default concurrency.
func BenchmarkFirstApply(b *testing.B) {
	ctx := context.Background()
	var requests atomic.Int64
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS = -1 // as the controller: flow control is the API server's
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			requests.Add(1)
			return rt.RoundTrip(r)
		})
	})
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	m := apply.NewManager(c, apply.DefaultOptions())
	var objects int
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		ns := env.Namespace(b)
		set := benchSet(ns, 1000)
		// A first sync each time: its own inventory (one shared by every
		// iteration would outgrow a ConfigMap).
		opts := apply.ApplyOptions{Inventory: "bench-" + ns, Revision: "bench"}
		objects += len(set)
		requests.Store(0)
		b.StartTimer()
		res, err := m.Apply(ctx, set, opts)
		if err != nil {
			b.Fatal(err)
		}
		if got := res.ChangeSet.Count(apply.Created); got != len(set) {
			b.Fatalf("created %d objects, want %d", got, len(set))
		}
		b.ReportMetric(float64(requests.Load())/float64(len(set)), "requests/object")
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package validate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// BenchmarkEvaluate gates rendered sets of 100, 1,000 and 5,000 services: per
// service a VirtualService, a DestinationRule and a ServiceIntent, and per ten
// services a Namespace and a NamespaceIntent. The 5,000 case shows that the
// cross-object policies scale linearly.
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	// The benchmark measures throughput, not the sandbox: no time budget
	// to trip on a busy machine.
	e, err := New(ctx, Options{Timeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000, 5000} {
		in := generate(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				r, err := e.Evaluate(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				if r.Denied() {
					b.Fatalf("generated set denied: %v", r.Results[0])
				}
			}
			// CPU time, GC included, is steadier than wall time on a busy machine.
			b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// generate builds a valid rendered set of n services, as render would.
func generate(n int) Input {
	var in Input
	namespaces := max(n/10, 1)
	for i := range namespaces {
		ns := fmt.Sprintf("team-%d", i)
		source := fmt.Sprintf("intents/%s/namespace.yaml", ns)
		in.Objects = append(in.Objects, object(map[string]any{
			"apiVersion": "v1",
			"kind":       "Namespace",
			"metadata": map[string]any{
				"name":   ns,
				"labels": map[string]any{"istio-injection": "enabled", manifest.ManagedByLabel: manifest.ManagedByValue},
			},
		}, source, "NamespaceIntent/"+ns))
		raw := map[string]any{
			"apiVersion": v1alpha1.APIVersion,
			"kind":       v1alpha1.KindNamespaceIntent,
			"metadata":   map[string]any{"name": ns},
			"spec":       map[string]any{"dataplane": "sidecar", "environment": "production"},
		}
		ni := &v1alpha1.NamespaceIntent{Spec: v1alpha1.NamespaceIntentSpec{Dataplane: v1alpha1.DataplaneSidecar, Environment: "production"}}
		ni.Name = ns
		in.Intents = append(in.Intents, intent.Document{Source: source, Line: 1, Raw: raw, NamespaceIntent: ni})
	}
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%namespaces)
		name := fmt.Sprintf("svc-%d", i)
		source := fmt.Sprintf("intents/%s/%s.yaml", ns, name)
		id := "ServiceIntent/" + ns + "/" + name
		meta := map[string]any{"name": name, "namespace": ns}
		in.Objects = append(in.Objects,
			object(map[string]any{
				"apiVersion": "networking.istio.io/v1",
				"kind":       "VirtualService",
				"metadata":   meta,
				"spec": map[string]any{
					"hosts": []any{name},
					"http": []any{
						map[string]any{
							"name":  "jason",
							"match": []any{map[string]any{"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}}}},
							"route": []any{map[string]any{"destination": map[string]any{"host": name, "subset": "v2"}}},
						},
						map[string]any{
							"name": "split",
							"route": []any{
								map[string]any{"destination": map[string]any{"host": name, "subset": "v1"}, "weight": int64(90)},
								map[string]any{"destination": map[string]any{"host": name, "subset": "v2"}, "weight": int64(10)},
							},
							"timeout": "5s",
							"retries": map[string]any{"attempts": int64(3), "perTryTimeout": "1s", "retryOn": "5xx"},
						},
					},
				},
			}, source, id),
			object(map[string]any{
				"apiVersion": "networking.istio.io/v1",
				"kind":       "DestinationRule",
				"metadata":   meta,
				"spec": map[string]any{
					"host": name,
					"subsets": []any{
						map[string]any{"name": "v1", "labels": map[string]any{"version": "v1"}},
						map[string]any{"name": "v2", "labels": map[string]any{"version": "v2"}},
					},
					"trafficPolicy": map[string]any{"loadBalancer": map[string]any{"simple": "LEAST_REQUEST"}},
				},
			}, source, id),
		)
		raw := map[string]any{
			"apiVersion": v1alpha1.APIVersion,
			"kind":       v1alpha1.KindServiceIntent,
			"metadata":   map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{
				"versions": []any{map[string]any{"name": "v1"}, map[string]any{"name": "v2"}},
				"split":    []any{map[string]any{"version": "v1", "weight": int64(90)}, map[string]any{"version": "v2", "weight": int64(10)}},
			},
		}
		si := &v1alpha1.ServiceIntent{}
		si.Name, si.Namespace = name, ns
		in.Intents = append(in.Intents, intent.Document{Source: source, Line: 1, Raw: raw, ServiceIntent: si})
	}
	in.Objects.Sort()
	return in
}

// BenchmarkNew loads and compiles the built-in policies, as every policy
// gate of a process does first: the CLI once, the controller per sync.
func BenchmarkNew(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(ctx, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

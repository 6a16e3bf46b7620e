package validate

import (
	"io/fs"
	"os"

	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// The fixtures below build a rendered set the way render does: each object
// carries the file of the intent it came from.

func source(ns, name string) string { return "intents/" + ns + "/" + name + ".yaml" }

// generated is a networking.istio.io/v1 object of kind generated from the
// ServiceIntent ns/name.
func generated(kind, ns, name string, spec map[string]any) manifest.Object {
	return object(map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	}, source(ns, name), "ServiceIntent/"+ns+"/"+name)
}

func vs(ns, name string, hosts []any, http ...any) manifest.Object {
	return generated("VirtualService", ns, name, map[string]any{"hosts": hosts, "http": http})
}

func dr(ns, name, host string, subsets ...string) manifest.Object {
	var ss []any
	for _, s := range subsets {
		ss = append(ss, map[string]any{"name": s, "labels": map[string]any{"version": s}})
	}
	return generated("DestinationRule", ns, name, map[string]any{"host": host, "subsets": ss})
}

func namespace(name string, labels map[string]any) manifest.Object {
	return object(map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": name, "labels": labels},
	}, source(name, "namespace"), "NamespaceIntent/"+name)
}

// route is an http rule sending to weighted subsets: route("reviews", "v1", 90, "v2", 10).
func route(host string, subsetsAndWeights ...any) map[string]any {
	var dests []any
	for i := 0; i < len(subsetsAndWeights); i += 2 {
		dests = append(dests, map[string]any{
			"destination": map[string]any{"host": host, "subset": subsetsAndWeights[i]},
			"weight":      int64(subsetsAndWeights[i+1].(int)),
		})
	}
	return map[string]any{"route": dests}
}

// to is an http rule sending everything to one subset, without weight.
func to(host, subset string) map[string]any {
	return map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": host, "subset": subset}}}}
}

// with returns m with the keys of extra added.
func with(m map[string]any, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func serviceIntent(ns, name string, spec map[string]any) intent.Document {
	si := &v1alpha1.ServiceIntent{}
	si.Name, si.Namespace = name, ns
	return intent.Document{
		Source: source(ns, name),
		Line:   1,
		Raw: map[string]any{
			"apiVersion": v1alpha1.APIVersion,
			"kind":       v1alpha1.KindServiceIntent,
			"metadata":   map[string]any{"name": name, "namespace": ns},
			"spec":       spec,
		},
		ServiceIntent: si,
	}
}

func namespaceIntent(name string, spec map[string]any) intent.Document {
	ni := &v1alpha1.NamespaceIntent{}
	ni.Name = name
	return intent.Document{
		Source: source(name, "namespace"),
		Line:   1,
		Raw: map[string]any{
			"apiVersion": v1alpha1.APIVersion,
			"kind":       v1alpha1.KindNamespaceIntent,
			"metadata":   map[string]any{"name": name},
			"spec":       spec,
		},
		NamespaceIntent: ni,
	}
}

// object annotates obj with its source and intent, as render does.
func object(obj map[string]any, source, intentID string) manifest.Object {
	meta := obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[manifest.SourceAnnotation] = source
	if intentID != "" {
		annotations[manifest.IntentAnnotation] = intentID
	}
	return manifest.Object{Unstructured: &unstructured.Unstructured{Object: obj}, Source: source, Intent: intentID}
}

// bookinfo is a valid set: a production namespace with the reviews service
// split 90/10 between v1 and v2.
func bookinfo() Input {
	return Input{
		Objects: manifest.Set{
			namespace("bookinfo", map[string]any{"istio-injection": "enabled"}),
			vs("bookinfo", "reviews", []any{"reviews"},
				with(to("reviews", "v2"), map[string]any{"match": []any{map[string]any{"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}}}}}),
				with(route("reviews", "v1", 90, "v2", 10), map[string]any{
					"timeout": "5s",
					"retries": map[string]any{"attempts": int64(2), "perTryTimeout": "1s"},
				}),
			),
			dr("bookinfo", "reviews", "reviews", "v1", "v2"),
		},
		Intents: []intent.Document{
			namespaceIntent("bookinfo", map[string]any{"dataplane": "sidecar", "environment": "production"}),
			serviceIntent("bookinfo", "reviews", map[string]any{
				"versions": []any{map[string]any{"name": "v1"}, map[string]any{"name": "v2"}},
				"split":    []any{map[string]any{"version": "v1", "weight": int64(90)}, map[string]any{"version": "v2", "weight": int64(10)}},
			}),
		},
	}
}

// replace returns in with each object of the same kind, namespace and name
// as one of objs replaced by it, and the others appended.
func replace(in Input, objs ...manifest.Object) Input {
	return Input{Objects: replaceByID(in.Objects, objs), Intents: in.Intents}
}

// replaceIntents does the same for intents.
func replaceIntents(in Input, docs ...intent.Document) Input {
	return Input{Objects: in.Objects, Intents: replaceByID(in.Intents, docs)}
}

// replaceByID returns a copy of list with each element of the same ID() as
// one of items replaced by it, and the other items appended.
func replaceByID[S ~[]E, E interface{ ID() string }](list S, items []E) S {
	out := append(S(nil), list...)
	for _, item := range items {
		found := false
		for i, x := range out {
			if x.ID() == item.ID() {
				out[i], found = item, true
			}
		}
		if !found {
			out = append(out, item)
		}
	}
	return out
}

func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: kind}
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

// dirFS is os.DirFS for a testdata directory.
func dirFS(t testing.TB, dir string) fs.FS {
	t.Helper()
	return os.DirFS(dir)
}

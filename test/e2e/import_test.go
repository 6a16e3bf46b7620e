package e2e

// The import round trip runs the CLI (internal/cli) against a live control
// plane, so it lives here and not in pkg/importer, whose tests may not import
// the CLI (see internal/archtest). Its fixtures stay in pkg/importer/testdata,
// beside the conversion tests that share them, read through
// pkg/importer/importertest.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/expand"
	"github.com/meshintent/meshintent/pkg/importer"
	"github.com/meshintent/meshintent/pkg/importer/importertest"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// createLive creates the objects as Kiali would (field manager "kiali") and
// returns them as the API server stores them, read back through
// networking.istio.io/v1, by kind.
func createLive(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	live := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if err := env.Client.Create(t.Context(), o.DeepCopy(), client.FieldOwner("kiali")); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		live[o.GetKind()] = read(t, o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return live
}

func read(t *testing.T, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(importer.VirtualServiceGVK.GroupVersion().WithKind(kind))
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("reading %s %s/%s: %v", kind, ns, name, err)
	}
	return u
}

// decodeStream decodes the intents of a YAML stream strictly.
func decodeStream(t *testing.T, stream string) []intent.Document {
	t.Helper()
	var docs []intent.Document
	for i, part := range strings.Split(stream, "\n---\n") {
		j, err := yaml.YAMLToJSON([]byte(part))
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var raw map[string]any
		if err := utiljson.Unmarshal(j, &raw); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		d, err := intent.Decode(raw, "import.yaml", 0)
		if err != nil {
			t.Fatalf("document %d does not decode strictly: %v\n%s", i, err, part)
		}
		docs = append(docs, d)
	}
	return docs
}

// canonical returns a copy of spec in the form meshintent renders, which
// Istio treats as equal: numbers as the API server returns them, hosts of
// namespace ns as short names, no weight on the only destination of a route.
func canonical(t *testing.T, spec any, ns string) map[string]any {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := utiljson.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	short := func(h any) any {
		s, _ := h.(string)
		return strings.TrimSuffix(s, "."+ns+".svc.cluster.local")
	}
	if h, ok := out["host"]; ok {
		out["host"] = short(h)
	}
	hosts, _ := out["hosts"].([]any)
	for i, h := range hosts {
		hosts[i] = short(h)
	}
	http, _ := out["http"].([]any)
	for _, r := range http {
		route, _ := r.(map[string]any)["route"].([]any)
		for _, d := range route {
			dest := d.(map[string]any)
			dest["destination"].(map[string]any)["host"] = short(dest["destination"].(map[string]any)["host"])
			if len(route) == 1 && dest["weight"] == int64(100) {
				delete(dest, "weight")
			}
		}
	}
	return out
}

func TestImportRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		// want are lines the imported intent must contain.
		want []string
	}{{
		name:    "a weighted routing wizard",
		fixture: "kiali-weighted.yaml",
		want:    []string{"split:", "tls: ISTIO_MUTUAL"},
	}, {
		name:    "a request routing wizard matching headers and URIs",
		fixture: "kiali-request-routing.yaml",
		want:    []string{"routes:", "end-user:", "prefix: /reviews/beta", "timeout: 2s"},
	}, {
		name:    "a suspend traffic wizard with a version at weight 0",
		fixture: "kiali-suspend-some.yaml",
		want:    []string{"reason: 'imported: weight 0 in live VirtualService reviews'", "# note: VirtualService/"},
	}, {
		name:    "a suspend traffic wizard with versions left out",
		fixture: "kiali-suspend-left-out.yaml",
		want:    []string{"suspend:", "- v1", "- v2"},
	}, {
		name:    "a suspend traffic wizard with every version suspended",
		fixture: "kiali-suspend-all.yaml",
		want:    []string{"all: true", "httpStatus: 503"},
	}}
	forms := []struct {
		name      string
		canonical bool
	}{
		{"as Kiali writes it", false},
		{"with short hosts and no weight on single destinations", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range forms {
				t.Run(form.name+" imports to an intent that renders the live specs", func(t *testing.T) {
					ns := env.Namespace(t)
					objs := importertest.Fixture(t, tt.fixture, ns)
					if form.canonical {
						for _, o := range objs {
							o.Object["spec"] = canonical(t, o.Object["spec"], ns)
						}
					}
					live := createLive(t, objs)

					// Import with the CLI and decode the intent strictly.
					code, stdout, stderr := reconciler(t, "import", "--namespace", ns, "--kubeconfig", env.Kubeconfig(t))
					if code != cli.ExitOK {
						t.Fatalf("exit %d, stderr:\n%s", code, stderr)
					}
					for _, line := range tt.want {
						if !strings.Contains(stdout, line) {
							t.Errorf("the intent lacks %q:\n%s", line, stdout)
						}
					}
					docs := decodeStream(t, stdout)
					if len(docs) != 1 {
						t.Fatalf("got %d intents, want 1", len(docs))
					}

					// Render it and compare with the live specs.
					var rendered manifest.Set
					for _, o := range expand.Expand(docs[0]) {
						l, ok := live[o.GetKind()]
						if !ok {
							t.Errorf("rendered %s has no live counterpart", o.ID())
							continue
						}
						if diff := cmp.Diff(canonical(t, l.Object["spec"], ns), canonical(t, o.Object["spec"], ns)); diff != "" {
							t.Errorf("%s spec (-live +rendered):\n%s", o.GetKind(), diff)
						}
						if o.GetName() != l.GetName() {
							t.Errorf("rendered %s, live %s", o.ID(), l.GetName())
						}
						rendered = append(rendered, o)
					}
					if len(rendered) != len(live) {
						t.Fatalf("rendered %d objects, want %d", len(rendered), len(live))
					}

					// Apply the rendered objects over the live ones: the API
					// server must keep each spec (in canonical form).
					m := apply.NewManager(env.Client, apply.Options{})
					if _, err := m.Apply(t.Context(), rendered, apply.ApplyOptions{Force: true}); err != nil {
						t.Fatalf("applying: %v", err)
					}
					for kind, before := range live {
						after := read(t, kind, ns, before.GetName())
						got, _ := after.Object["spec"].(map[string]any)
						if diff := cmp.Diff(canonical(t, before.Object["spec"], ns), got); diff != "" {
							t.Errorf("%s spec after apply (-want +got):\n%s", kind, diff)
						}
						if form.canonical && after.GetGeneration() != before.GetGeneration() {
							t.Errorf("%s generation went from %d to %d: the API server saw a spec change", kind, before.GetGeneration(), after.GetGeneration())
						}
						if after.GetLabels()[manifest.ManagedByLabel] != manifest.ManagedByValue {
							t.Errorf("%s was not applied: labels %v", kind, after.GetLabels())
						}
					}
				})
			}
		})
	}
}

func TestImportCommand(t *testing.T) {
	// ratingsVS is a VirtualService ratings whose one http route also has
	// field, which a ServiceIntent cannot express.
	ratingsVS := func(field string) string {
		return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: NAMESPACE}
spec:
  hosts: [ratings]
  http:
  - ` + field + `
    route: [{destination: {host: ratings}}]
`
	}
	t.Run("a missing namespace is a clear error", func(t *testing.T) {
		code, stdout, stderr := reconciler(t, "import", "--namespace", "no-such-namespace", "--kubeconfig", env.Kubeconfig(t))
		if diff := cmp.Diff([]any{cli.ExitError, "", "error: namespace \"no-such-namespace\" not found\n"}, []any{code, stdout, stderr}); diff != "" {
			t.Errorf("exit, stdout, stderr (-want +got):\n%s", diff)
		}
	})
	t.Run("a namespace without mesh objects imports nothing", func(t *testing.T) {
		ns := env.Namespace(t)
		code, stdout, stderr := reconciler(t, "import", "--namespace", ns, "--kubeconfig", env.Kubeconfig(t))
		want := []any{cli.ExitOK, "", "no VirtualService or DestinationRule of namespace " + ns + " is about a Service of it\n"}
		if diff := cmp.Diff(want, []any{code, stdout, stderr}); diff != "" {
			t.Errorf("exit, stdout, stderr (-want +got):\n%s", diff)
		}
	})
	t.Run("out writes a file per Service and a kustomization that renders", func(t *testing.T) {
		ns := env.Namespace(t)
		objs := importertest.Fixture(t, "kiali-weighted.yaml", ns)
		objs = append(objs, importertest.ParseObjects(t, `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: NAMESPACE}
spec:
  host: details
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
`+ratingsVS("rewrite: {uri: /v2}"), ns)...)
		create(t, objs...)
		dir := filepath.Join(t.TempDir(), "mesh")
		code, stdout, stderr := reconciler(t, "import", "--namespace", ns, "--kubeconfig", env.Kubeconfig(t), "--out", dir)
		if code != cli.ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		wantOut := "wrote " + filepath.Join(dir, "details.yaml") + "\n" +
			"wrote " + filepath.Join(dir, "reviews.yaml") + "\n" +
			"wrote " + filepath.Join(dir, "kustomization.yaml") + "\n" +
			"imported 2 of 3 services of namespace " + ns + "\n"
		if diff := cmp.Diff(wantOut, stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
		wantErr := "note: details: DestinationRule/" + ns + "/details: no VirtualService routes this Service: the intent adds VirtualService " + ns + "/details sending every request to the Service, as Istio does without one\n" +
			"note: ratings: VirtualService/" + ns + "/ratings spec.http[0].rewrite: rewrites cannot be expressed in a ServiceIntent (skipped)\n"
		if diff := cmp.Diff(wantErr, stderr); diff != "" {
			t.Errorf("stderr (-want +got):\n%s", diff)
		}
		kust, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		wantKust := "# Written by `reconciler import --namespace " + ns + "`.\n" +
			"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- details.yaml\n- reviews.yaml\n"
		if diff := cmp.Diff(wantKust, string(kust)); diff != "" {
			t.Errorf("kustomization.yaml (-want +got):\n%s", diff)
		}
		details, err := os.ReadFile(filepath.Join(dir, "details.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		wantDetails := "# Imported by `reconciler import` from DestinationRule/" + ns + "/details.\n" +
			"# note: DestinationRule/" + ns + "/details: no VirtualService routes this Service: the intent adds VirtualService " + ns + "/details sending every request to the Service, as Istio does without one\n" +
			"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: details\n  namespace: " + ns + "\n" +
			"spec:\n  trafficPolicy:\n    tls: ISTIO_MUTUAL\n"
		if diff := cmp.Diff(wantDetails, string(details)); diff != "" {
			t.Errorf("details.yaml (-want +got):\n%s", diff)
		}

		// The directory is a kustomization the render command builds.
		code, stdout, stderr = reconciler(t, "render", dir)
		if code != cli.ExitOK {
			t.Fatalf("render: exit %d, stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"kind: VirtualService", "name: reviews", "name: details", "meshintent.io/source: reviews.yaml"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("render output lacks %q", want)
			}
		}
	})
	t.Run("a Service that cannot be imported fails when asked for by name", func(t *testing.T) {
		ns := env.Namespace(t)
		create(t, importertest.ParseObjects(t, ratingsVS(`corsPolicy: {allowOrigins: [{exact: "https://example.com"}]}`), ns)...)
		code, stdout, stderr := reconciler(t, "import", "--namespace", ns, "--service", "ratings", "--kubeconfig", env.Kubeconfig(t))
		wantErr := "note: ratings: VirtualService/" + ns + "/ratings spec.http[0].corsPolicy: CORS policies cannot be expressed in a ServiceIntent (skipped)\n" +
			"error: service ratings was not imported: see the notes above\n"
		if diff := cmp.Diff([]any{cli.ExitError, "", wantErr}, []any{code, stdout, stderr}); diff != "" {
			t.Errorf("exit, stdout, stderr (-want +got):\n%s", diff)
		}
	})
}

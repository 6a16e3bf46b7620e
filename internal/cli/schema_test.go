package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/invopop/jsonschema"
	jsonschemav6 "github.com/santhosh-tekuri/jsonschema/v6"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/render"
)

// examplesDir is examples/ from this package.
const examplesDir = "../../examples"

// schemaURL names the schema resource in the validator.
const schemaURL = "https://meshintent.io/schemas/v1alpha1/intent.json"

// compileSchema compiles the schema `reconciler schema` prints with a
// standard JSON Schema validator. With patch set, no property is required:
// the schema of a strategic merge patch, which carries only what it changes.
func compileSchema(t *testing.T, patch bool) *jsonschemav6.Schema {
	t.Helper()
	code, stdout, stderr := run(t, "schema")
	if code != ExitOK {
		t.Fatalf("schema: exit %d: %s", code, stderr)
	}
	doc, err := jsonschemav6.UnmarshalJSON(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if patch {
		dropRequired(doc)
	}
	c := jsonschemav6.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatalf("compiling the schema: %v", err)
	}
	return s
}

// dropRequired removes every "required" keyword from a decoded schema.
func dropRequired(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "required")
		for _, e := range v {
			dropRequired(e)
		}
	case []any:
		for _, e := range v {
			dropRequired(e)
		}
	}
}

// yamlDocs splits a YAML stream into its documents, each as the value a JSON
// decoder gives (what a JSON Schema validator takes).
func yamlDocs(t *testing.T, b []byte) []any {
	t.Helper()
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		y, err := yamlv3.Marshal(&n)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschemav6.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, v)
	}
}

// isIntent reports whether a decoded document is a NamespaceIntent or a
// ServiceIntent (not a kustomization, policy data or a plain Istio object).
func isIntent(doc any) bool {
	m, ok := doc.(map[string]any)
	if !ok || m["apiVersion"] != v1alpha1.APIVersion {
		return false
	}
	return m["kind"] == v1alpha1.KindNamespaceIntent || m["kind"] == v1alpha1.KindServiceIntent
}

// kustomizePatches returns the files below dir that a kustomization names as
// a patch (patches[].path, patchesStrategicMerge), as slash paths.
func kustomizePatches(t *testing.T, dir string) map[string]bool {
	t.Helper()
	patches := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var k struct {
			Patches []struct {
				Path string `json:"path"`
			} `json:"patches"`
			PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
		}
		if err := yaml.Unmarshal(b, &k); err != nil {
			return err
		}
		for _, pt := range k.Patches {
			if pt.Path != "" {
				patches[filepath.ToSlash(filepath.Join(filepath.Dir(p), pt.Path))] = true
			}
		}
		for _, f := range k.PatchesStrategicMerge {
			patches[filepath.ToSlash(filepath.Join(filepath.Dir(p), f))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return patches
}

func TestSchemaValidatesExamples(t *testing.T) {
	full, patch := compileSchema(t, false), compileSchema(t, true)
	patches := kustomizePatches(t, examplesDir)
	var checked []string
	err := filepath.WalkDir(examplesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(p)
		for i, doc := range yamlDocs(t, b) {
			if !isIntent(doc) {
				continue
			}
			s := full
			if patches[name] {
				s = patch
			}
			if err := s.Validate(doc); err != nil {
				t.Errorf("%s (document %d, patch %t) does not validate:\n%v", name, i+1, patches[name], err)
			}
			checked = append(checked, strings.TrimPrefix(name, examplesDir+"/"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk must have found the example's intents, patches included: a
	// test that checks nothing passes too.
	for _, want := range []string{"repo/base/namespace.yaml", "repo/base/reviews.yaml", "repo/overlays/prod/reviews.yaml", "repo/overlays/staging/ratings-fault.yaml"} {
		if !slices.Contains(checked, want) {
			t.Errorf("%s was not validated; validated: %v", want, checked)
		}
	}
	if !patches[examplesDir+"/repo/overlays/prod/reviews.yaml"] {
		t.Errorf("overlays/prod/reviews.yaml is not seen as a patch: %v", patches)
	}
}

func TestSchemaValidatesRenderedOverlays(t *testing.T) {
	// What kustomize builds from each overlay (patches applied) is a
	// whole intent and must pass the full schema.
	full := compileSchema(t, false)
	for _, path := range []string{"base", "overlays/prod", "overlays/staging"} {
		t.Run(path, func(t *testing.T) {
			res, err := render.Render(context.Background(), render.Options{Root: exampleRepo, Path: path})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Intents) == 0 {
				t.Fatal("no intents rendered")
			}
			for _, d := range res.Intents {
				b, err := json.Marshal(d.Raw)
				if err != nil {
					t.Fatal(err)
				}
				v, err := jsonschemav6.UnmarshalJSON(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				if err := full.Validate(v); err != nil {
					t.Errorf("%s %s after overlays does not validate:\n%v", d.Kind(), d.Source, err)
				}
			}
		})
	}
}

func TestSchemaRejectsBadIntents(t *testing.T) {
	full := compileSchema(t, false)
	const ns = "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: bookinfo}\n"
	const svc = "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: reviews, namespace: bookinfo}\n"
	tests := []struct {
		name  string
		doc   string
		valid bool
	}{
		{"a whole NamespaceIntent is valid", ns + "spec: {dataplane: ambient}\n", true},
		{"a whole ServiceIntent is valid", svc + "spec:\n  versions: [{name: v1}, {name: v2}]\n  split: [{version: v1, weight: 90}, {version: v2}]\n  timeout: 1m30s\n", true},
		{"a typo in a spec field", svc + "spec:\n  splitt: [{version: v1, weight: 100}]\n", false},
		{"a typo in a nested field", svc + "spec:\n  retries: {attempts: 2, retryOnn: 5xx}\n", false},
		{"a typo at the top level", ns + "spec: {dataplane: sidecar}\nstatus: {}\n", false},
		{"a string where a number goes", svc + "spec:\n  split: [{version: v1, weight: ten}]\n", false},
		{"a number where a list goes", svc + "spec:\n  versions: 3\n", false},
		{"a duration that is not one", svc + "spec:\n  timeout: 2 seconds\n", false},
		{"a dataplane that does not exist", ns + "spec: {dataplane: proxyless}\n", false},
		{"a TLS mode that does not exist", svc + "spec:\n  trafficPolicy: {tls: STRICT}\n", false},
		{"a NamespaceIntent without its dataplane", ns + "spec: {environment: production}\n", false},
		{"a version without a name", svc + "spec:\n  versions: [{labels: {a: b}}]\n", false},
		{"a name that is not a DNS label", "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: Book_Info}\nspec: {dataplane: none}\n", false},
		{"an unknown kind", "apiVersion: meshintent.io/v1alpha1\nkind: GatewayIntent\nmetadata: {name: x}\nspec: {}\n", false},
		{"another API version", "apiVersion: meshintent.io/v1beta1\nkind: NamespaceIntent\nmetadata: {name: x}\nspec: {dataplane: none}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := yamlDocs(t, []byte(tt.doc))
			if len(docs) != 1 {
				t.Fatalf("%d documents", len(docs))
			}
			err := full.Validate(docs[0])
			if got := err == nil; got != tt.valid {
				t.Errorf("valid = %t, want %t (error: %v)", got, tt.valid, err)
			}
		})
	}
}

// describedSchemas walks a schema and calls f for every property schema,
// with its JSON pointer-like path.
func describedSchemas(path string, s map[string]any, f func(path string, prop map[string]any)) {
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			pm, _ := p.(map[string]any)
			f(path+"/"+name, pm)
			describedSchemas(path+"/"+name, pm, f)
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if sub, ok := s[key].(map[string]any); ok {
			describedSchemas(path+"/"+key, sub, f)
		}
	}
	for _, key := range []string{"oneOf", "anyOf", "allOf"} {
		if list, ok := s[key].([]any); ok {
			for _, e := range list {
				if sub, ok := e.(map[string]any); ok {
					title, _ := sub["title"].(string)
					describedSchemas(path+"/"+key+"("+title+")", sub, f)
				}
			}
		}
	}
	if defs, ok := s["$defs"].(map[string]any); ok {
		for name, d := range defs {
			if sub, ok := d.(map[string]any); ok {
				describedSchemas("#/$defs/"+name, sub, f)
			}
		}
	}
}

func TestSchemaDescribesEveryField(t *testing.T) {
	doc := runJSON[map[string]any](t, ExitOK, "schema")
	var props, missing []string
	describedSchemas("#", doc, func(path string, prop map[string]any) {
		props = append(props, path)
		if d, _ := prop["description"].(string); strings.TrimSpace(d) == "" {
			missing = append(missing, path)
		}
	})
	// Enough properties were walked to mean something: the spec fields of
	// both kinds and of the definitions.
	for _, want := range []string{"#/oneOf(ServiceIntent)/spec", "#/oneOf(NamespaceIntent)/metadata/name", "#/$defs/Destination/weight", "#/$defs/StringMatch/regex"} {
		if !slices.Contains(props, want) {
			t.Errorf("property %s not found in the schema", want)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("properties without a description (add a doc comment in api/v1alpha1/intent_types.go and run go generate ./internal/cli):\n%s",
			strings.Join(missing, "\n"))
	}
}

// descriptionText joins the lines of each paragraph, as gen_descriptions.go
// does.
func descriptionText(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

func TestSchemaDescriptionsUpToDate(t *testing.T) {
	// gen_descriptions.go reads the comments from the module root; so
	// does this test, and the result must be what was generated.
	t.Chdir("../..")
	var r jsonschema.Reflector
	if err := r.AddGoComments("github.com/meshintent/meshintent", "api/v1alpha1/intent_types.go"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for k, v := range r.CommentMap {
		want[k] = descriptionText(v)
	}
	if diff := cmp.Diff(want, intentDescriptions()); diff != "" {
		t.Errorf("zz_generated_descriptions.go is stale: run go generate ./internal/cli (-want +got):\n%s", diff)
	}
}

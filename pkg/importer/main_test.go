package importer_test

import (
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// parseObjects reads a multi-document YAML stream of live objects, with
// NAMESPACE replaced by ns. Numbers decode as the API server's do (int64 or
// float64) and nulls are kept, as a client would send them.
func parseObjects(t *testing.T, text, ns string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(strings.ReplaceAll(text, "NAMESPACE", ns), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("parsing objects: %v\n%s", err, doc)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("parsing objects: %v\n%s", err, doc)
		}
		out = append(out, u)
	}
	return out
}

// fixture reads testdata/file as parseObjects does.
func fixture(t *testing.T, file, ns string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, string(b), ns)
}

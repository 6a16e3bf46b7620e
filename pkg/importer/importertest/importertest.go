// Package importertest reads the live Istio objects that importer tests
// convert (and apply tests apply): hand-written YAML streams and the files
// of pkg/importer/testdata.
package importertest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ParseObjects reads a multi-document YAML stream of live objects, with
// NAMESPACE replaced by ns. Numbers decode as the API server's do (int64 or
// float64) and nulls are kept, as a client would send them. Empty
// documents are skipped; a document that does not parse fails the test.
func ParseObjects(t testing.TB, text, ns string) []*unstructured.Unstructured {
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

// Fixture reads pkg/importer/testdata/file as ParseObjects does, from any
// package's tests.
func Fixture(t testing.TB, file, ns string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(TestdataDir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	return ParseObjects(t, string(b), ns)
}

// TestdataDir is the absolute path of pkg/importer/testdata, found from
// this source file so that it does not depend on the test's directory.
func TestdataDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("importertest: cannot locate its source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

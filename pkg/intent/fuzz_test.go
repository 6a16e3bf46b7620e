package intent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// fuzzExamples are the intent files of examples/repo, whole documents and
// overlay patches alike.
var fuzzExamples = []string{
	"base/namespace.yaml", "base/productpage.yaml", "base/details.yaml", "base/reviews.yaml", "base/ratings.yaml",
	"overlays/prod/namespace.yaml", "overlays/prod/reviews.yaml",
	"overlays/staging/namespace.yaml", "overlays/staging/reviews.yaml", "overlays/staging/ratings-fault.yaml",
}

// fuzzBadSeeds are the bad inputs of test/badinput, cut down to one
// document each.
var fuzzBadSeeds = []string{
	svcHeader + "  split:\n  - version: v1\n    weight: ten\n  - version: v2\n    weight: 90\n",
	strings.Replace(svcHeader, "  versions:\n  - name: v1\n  - name: v2\n  - name: v3\n", "  versions: v1\n", 1),
	svcHeader + "  timeout: 5\n",
	svcHeader + "  timeout: 2 seconds\n",
	svcHeader + "  tiemout: 3s\n",
	svcHeader + "  routes:\n  - match:\n    - headers:\n        end-user:\n          exactly: bob\n      uri:\n        prefx: /x\n    to:\n    - version: v1\n",
	strings.Replace(svcHeader, "  name: reviews\n", "  name: reviews\n  lables: {a: b}\n", 1),
	strings.Replace(svcHeader, "  - name: v1\n", "  - labels: {version: v1}\n", 1),
	svcHeader + "  split:\n  - weight: 50\n  - version: v2\n",
	svcHeader + "  split:\n  - version: v1\n    weight: -5\n  - version: v2\n    weight: 105\n",
	svcHeader + "  split:\n  - version: v1\n    weight: 150\n",
	svcHeader + "  split:\n  - version: v1\n    weight: 60\n  - version: v2\n    weight: 30\n",
	svcHeader + "  split:\n  - version: v4\n  - version: v1\n    weight: 10\n",
	svcHeader + "  routes:\n  - match:\n    - headers:\n        x-canary:\n          regex: ^(true|yes|1$\n    to:\n    - version: v9\n",
	svcHeader + "  mirror:\n    version: v7\n    percentage: 120\n",
	svcHeader + "  suspend:\n    versions: [v5, v1, v1]\n",
	svcHeader + "  suspend:\n    all: true\n    versions: [v1]\n    httpStatus: 99\n",
	svcHeader + "  trafficPolicy:\n    tls: PLAIN\n    loadBalancer: FASTEST\n",
	svcHeader + "  routes:\n  - match:\n    - headers:\n        End-User:\n          exact: jason\n          prefix: ja\n      queryParams:\n        q:\n          prefix: x\n    to:\n    - version: v1\n    fault: {}\n",
	svcHeader + "  retries:\n    attempts: \"3\"\n    retryOn: 5xx,bogus,700\n",
	svcHeader + "  fault:\n    delay: 1us\n    abort: 700\n",
	"apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata:\n  name: bookinfo\nspec:\n  dataplane: hybrid\n  revision: canary\n",
	"apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata:\n  name: Bad_Name\nspec:\n  dataplane: ambient\n  revision: x\n  tracing: {samplingPercentage: -1}\n",
	"apiVersion: meshintent.io/v1\nkind: Gadget\nmetadata: 5\n",
	"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: x\n  namespace: y\n  creationTimestamp: yesterday\n  managedFields: [{fieldsV1: 3}]\nspec: []\n",
	svcHeader + "  routes:\n  - match:\n    - uri:\n        regex: \"(a\\nb\"\n    to:\n    - version: v1\n",
	"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: x\n  namespace: y\n  deep: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
	"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: x\n  namespace: y\nspec:\n  versions:\n  - name: v1\n    labels: {}\n  - name: v1\n    trafficPolicy:\n      connectionPool: {maxConnections: 99999999999}\n      outlierDetection: {maxEjectionPercent: 101, interval: 0s}\n",
}

// FuzzDecode checks its input with the YAML guard and parses it into a map,
// as the renderer does, and
// decodes it, without and with a LineFinder reading the same bytes. Decode
// must not panic nor change its input; a success is exactly one intent of
// the document's kind; a failure is an ErrorList of *FieldError in order,
// each naming the file and object and saying what is wrong in one line.
func FuzzDecode(f *testing.F) {
	for _, name := range fuzzExamples {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "repo", filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range fuzzBadSeeds {
		f.Add([]byte(s))
	}
	// Alias bombs, which the guard refuses, and an alias the decoder sees
	// expanded.
	f.Add([]byte(svcHeader + "  versionLabel: &l version\n  service: *l\n"))
	bomb := svcHeader + "  bomb:\n    a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	for i := 1; i <= 8; i++ {
		bomb += fmt.Sprintf("    a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	f.Add([]byte(bomb))

	f.Fuzz(func(t *testing.T, data []byte) {
		// The renderer parses nothing past the YAML guard: without it, an
		// alias bomb the fuzzer builds would expand here, in yaml.Unmarshal.
		if err := yamlguard.NewBudget(yamlguard.Limits{}).Check("fuzz.yaml", data); err != nil {
			return
		}
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil || raw == nil {
			return // not a mapping: the renderer refuses it before decoding
		}
		before, err := json.Marshal(raw)
		if err != nil {
			t.Fatalf("sigs.k8s.io/yaml gave a map that is not JSON: %v", err)
		}
		const source = "base/fuzz.yaml"
		lines := NewFileLines(func(string) ([]byte, error) { return data, nil })
		for _, dec := range []Decoder{{}, {Lines: lines}} {
			doc, err := dec.Decode(raw, source, 3)
			if after, _ := json.Marshal(raw); string(after) != string(before) {
				t.Fatalf("Decode changed its input:\nbefore %s\nafter  %s", before, after)
			}
			if err == nil {
				checkDecoded(t, raw, doc)
				continue
			}
			checkDecodeError(t, err, source, dec.Lines != nil)
		}
	})
}

func checkDecoded(t *testing.T, raw map[string]any, doc Document) {
	t.Helper()
	kind, _ := raw["kind"].(string)
	switch {
	case (doc.NamespaceIntent == nil) == (doc.ServiceIntent == nil):
		t.Fatalf("Decode returned %v NamespaceIntent and %v ServiceIntent, want exactly one", doc.NamespaceIntent != nil, doc.ServiceIntent != nil)
	case doc.Kind() != kind:
		t.Fatalf("Decode of a %q returned a %s", kind, doc.Kind())
	case doc.ID() == "":
		t.Fatal("decoded intent has no ID")
	}
	if si := doc.ServiceIntent; si != nil {
		checkWeights(t, "spec.split", si.Spec.Split)
		for i, r := range si.Spec.Routes {
			checkWeights(t, "spec.routes["+strconv.Itoa(i)+"].to", r.To)
		}
	}
	if doc.Raw == nil {
		t.Fatal("decoded intent lost its Raw")
	}
}

// checkWeights requires a decoded weighted list to sum to 100, the one
// weight left out being filled in.
func checkWeights(t *testing.T, field string, ds []v1alpha1.Destination) {
	t.Helper()
	sum := 0
	for _, d := range ds {
		sum += int(d.Weight)
	}
	if len(ds) > 0 && sum != 100 {
		t.Fatalf("decoded %s weights sum to %d: %+v", field, sum, ds)
	}
}

func checkDecodeError(t *testing.T, err error, source string, withLines bool) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error is %T, want a non-empty ErrorList: %v", err, err)
	}
	for i, e := range list {
		if e == nil {
			t.Fatalf("error %d of %d is nil", i, len(list))
		}
		msg := e.Error()
		switch {
		case e.Message == "":
			t.Fatalf("error %d has no message: %q", i, msg)
		case e.File != source:
			t.Fatalf("error %d names file %q, want %q: %q", i, e.File, source, msg)
		case e.Object == "":
			t.Fatalf("error %d names no object: %q", i, msg)
		case e.Line < 0 || (!withLines && e.Line != 3):
			t.Fatalf("error %d has line %d: %q", i, e.Line, msg)
		case e.Field != e.Path.String():
			t.Fatalf("error %d: Field %q is not its Path %q", i, e.Field, e.Path.String())
		case strings.ContainsAny(msg, "\n\r"):
			t.Fatalf("error %d spreads over several lines: %q", i, msg)
		}
		if i > 0 && list[i-1].Line > e.Line {
			t.Fatalf("errors out of line order: %q before %q", list[i-1].Error(), msg)
		}
	}
}

// TestBugDecodeErrorsStayOnOneLine: each error is one line, whatever the
// document holds (FuzzDecode checks it too).
func TestBugDecodeErrorsStayOnOneLine(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"a name with a line break", strings.Replace(svcHeader, "  name: reviews\n", "  name: \"reviews\\nDENY forged\"\n", 1)},
		{"a kind with a line break", strings.Replace(svcHeader, "kind: ServiceIntent\n", "kind: \"Service\\nIntent\"\n", 1)},
		{"a regex with a line break", svcHeader + "  routes:\n  - match:\n    - uri:\n        regex: \"(a\\nerror: forged\"\n    to:\n    - version: v1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeYAML(t, tt.doc)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error = %v, want an ErrorList", err)
			}
			for _, e := range list {
				if strings.ContainsAny(e.Error(), "\n\r") {
					t.Errorf("error spreads over several lines: %q", e.Error())
				}
			}
		})
	}
}

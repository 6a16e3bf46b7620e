package intent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// svcHeader is lines 1–10 of every ServiceIntent test document; the text a
// case adds starts on line 11.
const svcHeader = gitfixture.ReviewsHead

func decodeYAML(t *testing.T, src string) (Document, error) {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	lines := NewFileLines(func(string) ([]byte, error) { return []byte(src), nil })
	return Decoder{Lines: lines}.Decode(raw, "base/reviews.yaml", 1)
}

func TestDecodeErrors(t *testing.T) {
	const p = "base/reviews.yaml:"
	const id = " ServiceIntent/bookinfo/reviews: "
	tests := []struct {
		name string
		doc  string
		want []string
	}{{
		name: "an unknown field is reported with its path and line",
		doc: svcHeader + `  routes:
  - match:
    - uri: {prefix: /a}
    - headres:
        end-user: {exact: jason}
    to:
    - version: v2
`,
		want: []string{p + "14:" + id + "spec.routes[0].match[1].headres: unknown field",
			p + "14:" + id + "spec.routes[0].match[1]: match entry has no condition; leave out match for a rule that catches every request"},
	}, {
		name: "an unknown top-level and metadata field",
		doc: strings.Replace(svcHeader, "  namespace: bookinfo\n", "  namespace: bookinfo\n  nmae: x\n", 1) + `statu: {}
`,
		want: []string{p + "6:" + id + "metadata.nmae: unknown field", p + "12:" + id + "statu: unknown field"},
	}, {
		name: "a wrong type",
		doc: svcHeader + `  split:
  - version: v1
    weight: "80"
  - version: v2
    weight: 20
`,
		want: []string{p + "13:" + id + "spec.split[0].weight: expected integer, got string"},
	}, {
		name: "a fraction where an integer is due",
		doc: svcHeader + `  split:
  - version: v1
    weight: 99.5
  - version: v2
    weight: 0.5
`,
		want: []string{p + "13:" + id + "spec.split[0].weight: expected integer, got 99.5",
			p + "15:" + id + "spec.split[1].weight: expected integer, got 0.5"},
	}, {
		name: "an object where a list is due",
		doc: svcHeader + `  split: {version: v1}
`,
		want: []string{p + "11:" + id + "spec.split: expected array, got object"},
	}, {
		name: "an integer out of range",
		doc: svcHeader + `  retries:
    attempts: 3000000000
`,
		want: []string{p + "12:" + id + "spec.retries.attempts: 3000000000 is out of range for a 32-bit integer"},
	}, {
		name: "a bad duration",
		doc: svcHeader + `  timeout: 5 seconds
`,
		want: []string{p + `11:` + id + `spec.timeout: invalid duration "5 seconds": use a number and a unit such as "500ms", "2s" or "1m30s"`},
	}, {
		name: "a duration finer than Istio takes",
		doc: svcHeader + `  timeout: 1500us
  retries:
    attempts: 2
    perTryTimeout: 0s
`,
		want: []string{p + "11:" + id + "spec.timeout: duration 1.5ms must be a whole number of milliseconds",
			p + "14:" + id + "spec.retries.perTryTimeout: duration 0s must be at least 1ms"},
	}, {
		name: "a missing required field",
		doc: svcHeader + `  routes:
  - match:
    - uri: {exact: /x}
  mirror:
    percentage: 10
`,
		want: []string{p + "12:" + id + "spec.routes[0].to: required field missing",
			p + "14:" + id + "spec.mirror.version: required field missing"},
	}, {
		name: "an empty version name",
		doc:  strings.Replace(svcHeader, "  - name: v3\n", "  - name: \"\"\n", 1),
		want: []string{p + "10:" + id + "spec.versions[2].name: must not be empty"},
	}, {
		name: "a bad enum value",
		doc: svcHeader + `  trafficPolicy:
    tls: MUTAL
    loadBalancer: FASTEST
`,
		want: []string{p + `12:` + id + `spec.trafficPolicy.tls: unsupported value "MUTAL": must be one of DISABLE, SIMPLE, ISTIO_MUTUAL`,
			p + `13:` + id + `spec.trafficPolicy.loadBalancer: unsupported value "FASTEST": must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, PASSTHROUGH, UNSPECIFIED`},
	}, {
		name: "MUTUAL TLS, which needs certificates",
		doc: svcHeader + `  trafficPolicy: {tls: MUTUAL}
`,
		want: []string{p + "11:" + id + "spec.trafficPolicy.tls: MUTUAL needs client certificates, which intents cannot carry; use ISTIO_MUTUAL"},
	}, {
		name: "a bad regex",
		doc: svcHeader + `  routes:
  - match:
    - headers:
        cookie: {regex: "^(.*?;)?(user=jason)(;.*"}
    to:
    - version: v2
`,
		want: []string{p + "14:" + id + "spec.routes[0].match[0].headers.cookie.regex: invalid RE2 regex: error parsing regexp: missing closing ): `^(.*?;)?(user=jason)(;.*`"},
	}, {
		name: "two match kinds in one string match",
		doc: svcHeader + `  routes:
  - match:
    - uri: {exact: /a, prefix: /b}
    to:
    - version: v2
`,
		want: []string{p + "13:" + id + "spec.routes[0].match[0].uri: only one of exact, prefix or regex may be set, got exact and prefix"},
	}, {
		name: "no match kind, an upper-case header and a query prefix",
		doc: svcHeader + `  routes:
  - match:
    - method: {}
      headers:
        End-User: {exact: jason}
      queryParams:
        debug: {prefix: "1"}
    to:
    - version: v2
`,
		want: []string{
			p + "13:" + id + "spec.routes[0].match[0].method: one of exact, prefix or regex must be set",
			p + "15:" + id + `spec.routes[0].match[0].headers.End-User: header name must be lower-case`,
			p + "17:" + id + "spec.routes[0].match[0].queryParams.debug.prefix: prefix match is not supported for query parameters; use exact or regex"},
	}, {
		name: "weights outside 0 to 100",
		doc: svcHeader + `  split:
  - version: v1
    weight: 120
  - version: v2
    weight: -20
`,
		want: []string{p + "13:" + id + "spec.split[0].weight: weight 120 must be between 0 and 100",
			p + "15:" + id + "spec.split[1].weight: weight -20 must be between 0 and 100"},
	}, {
		name: "weights that do not sum to 100",
		doc: svcHeader + `  split:
  - version: v1
    weight: 50
  - version: v2
    weight: 40
`,
		want: []string{p + "11:" + id + "spec.split: weights sum to 90, want 100"},
	}, {
		name: "two destinations leaving out their weight",
		doc: svcHeader + `  split:
  - version: v1
  - version: v2
`,
		want: []string{p + "13:" + id + "spec.split[1].weight: only one destination may leave out its weight, and spec.split[0] already does"},
	}, {
		name: "a split or route naming a version not in spec.versions",
		doc: svcHeader + `  split:
  - version: v4
    weight: 100
  routes:
  - match:
    - uri: {prefix: /x}
    to:
    - version: v9
  mirror:
    version: v7
`,
		want: []string{p + `12:` + id + `spec.split[0].version: version "v4" is not in spec.versions`,
			p + `18:` + id + `spec.routes[0].to[0].version: version "v9" is not in spec.versions`,
			p + `20:` + id + `spec.mirror.version: version "v7" is not in spec.versions`},
	}, {
		name: "a catch-all rule before other rules",
		doc: svcHeader + `  routes:
  - to:
    - version: v1
  - match:
    - uri: {prefix: /x}
    to:
    - version: v2
`,
		want: []string{p + "12:" + id + "spec.routes[0]: a rule without match catches every request, so the rules after it are never used; make it the last rule"},
	}, {
		name: "a suspension that empties a list",
		doc: svcHeader + `  split:
  - version: v1
    weight: 100
  suspend:
    versions: [v1, v5]
    reason: broken
`,
		want: []string{p + `15:` + id + `spec.suspend.versions[1]: version "v5" is not in spec.versions`,
			p + "15:" + id + "spec.suspend.versions: suspends every destination of spec.split; use suspend.all or change that list"},
	}, {
		name: "a suspension of nothing",
		doc: svcHeader + `  suspend:
    reason: why
    httpStatus: 503
`,
		want: []string{p + "11:" + id + "spec.suspend: nothing to suspend: set versions or all",
			p + "13:" + id + "spec.suspend.httpStatus: only used with all"},
	}, {
		name: "bad faults, retries and percentages",
		doc: svcHeader + `  fault:
    percentage: 10
  routes:
  - match:
    - uri: {prefix: /x}
    to:
    - version: v1
    fault:
      abort: 700
      percentage: 150
  retries:
    attempts: -1
    retryOn: 5xx,sometimes
  tracing:
    samplingPercentage: 101
`,
		want: []string{
			p + "11:" + id + "spec.fault: set delay, abort or both",
			p + "19:" + id + "spec.routes[0].fault.abort: HTTP status 700 must be between 200 and 599",
			p + "20:" + id + "spec.routes[0].fault.percentage: percentage 150 must be between 0 and 100",
			p + "22:" + id + "spec.retries.attempts: -1 must not be negative",
			p + "23:" + id + `spec.retries.retryOn: unknown retry condition "sometimes" (e.g. 5xx, gateway-error, reset, connect-failure, retriable-4xx or an HTTP status)`,
			p + "25:" + id + "spec.tracing.samplingPercentage: percentage 101 must be between 0 and 100"},
	}, {
		name: "a wrong apiVersion and a missing namespace",
		doc: `apiVersion: meshintent.io/v1
kind: ServiceIntent
metadata:
  name: reviews
spec: {}
`,
		want: []string{`base/reviews.yaml:1: ServiceIntent/reviews: apiVersion: unsupported apiVersion "meshintent.io/v1", want meshintent.io/v1alpha1`,
			`base/reviews.yaml:3: ServiceIntent/reviews: metadata.namespace: must not be empty`},
	}, {
		name: "an unknown kind",
		doc: `apiVersion: meshintent.io/v1alpha1
kind: MeshIntent
metadata: {name: x}
`,
		want: []string{`base/reviews.yaml:2: MeshIntent/x: kind: unsupported kind "MeshIntent", want NamespaceIntent or ServiceIntent`},
	}, {
		name: "a NamespaceIntent without dataplane and a revision outside sidecar",
		doc: `apiVersion: meshintent.io/v1alpha1
kind: NamespaceIntent
metadata:
  name: bookinfo
  namespace: ignored
spec:
  revision: canary
  tracing: {provider: zipkin, samplingPercentage: -1}
`,
		want: []string{"base/reviews.yaml:6: NamespaceIntent/bookinfo: spec.dataplane: required field missing",
			"base/reviews.yaml:7: NamespaceIntent/bookinfo: spec.revision: only valid with dataplane sidecar",
			"base/reviews.yaml:8: NamespaceIntent/bookinfo: spec.tracing.samplingPercentage: percentage -1 must be between 0 and 100"},
	}, {
		name: "a bad dataplane and a missing spec",
		doc: `apiVersion: meshintent.io/v1alpha1
kind: NamespaceIntent
metadata:
  name: Bookinfo
spec:
  dataplane: sidecars
`,
		want: []string{`base/reviews.yaml:4: NamespaceIntent/Bookinfo: metadata.name: invalid name "Bookinfo": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`base/reviews.yaml:6: NamespaceIntent/Bookinfo: spec.dataplane: unsupported value "sidecars": must be one of sidecar, ambient, none`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeYAML(t, tt.doc)
			if err == nil {
				t.Fatal("Decode returned no error")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is a %T, want ErrorList", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeFieldError(t *testing.T) {
	_, err := decodeYAML(t, svcHeader+"  versionz: []\n")
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(*FieldError) failed on %v", err)
	}
	want := &FieldError{File: "base/reviews.yaml", Line: 11, Object: "ServiceIntent/bookinfo/reviews",
		Path: P("spec", "versionz"), Field: "spec.versionz", Message: "unknown field"}
	if diff := cmp.Diff(want, fe); diff != "" {
		t.Errorf("FieldError (-want +got):\n%s", diff)
	}
}

// fakeLocator locates every field in an overlay's patch, except those it
// says an overlay changed where it could not tell.
type fakeLocator struct {
	LineFinder
	got []string // what LocateField was asked: path=value
}

func (f *fakeLocator) LocateField(source string, obj ObjectRef, path Path, value any, found bool) Location {
	f.got = append(f.got, fmt.Sprintf("%s %s %s=%v %v", source, obj.Name, path, value, found))
	if path.String() == "spec.split[1].weight" {
		return Location{File: "overlays/prod/reviews.yaml", Line: 9}
	}
	return Location{File: source, AfterOverlays: true}
}

func TestDecodeWithFieldLocator(t *testing.T) {
	src := svcHeader + "  split:\n  - version: v1\n    weight: 105\n  - version: v2\n    weight: -5\n"
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	loc := &fakeLocator{LineFinder: NewFileLines(nil)}
	_, err := Decoder{Lines: loc}.Decode(raw, "base/reviews.yaml", 1)
	want := "base/reviews.yaml (after overlays): ServiceIntent/bookinfo/reviews: spec.split[0].weight: weight 105 must be between 0 and 100\n" +
		"overlays/prod/reviews.yaml:9: ServiceIntent/bookinfo/reviews: spec.split[1].weight: weight -5 must be between 0 and 100"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	wantAsked := []string{
		"base/reviews.yaml reviews spec.split[0].weight=105 true",
		"base/reviews.yaml reviews spec.split[1].weight=-5 true",
	}
	if diff := cmp.Diff(wantAsked, loc.got); diff != "" {
		t.Errorf("LocateField calls (-want +got):\n%s", diff)
	}
}

func TestFieldErrorIsOneLine(t *testing.T) {
	e := &FieldError{File: "base/x.yaml", Line: 3, Object: "ServiceIntent/ns/a\nDENY b", Field: "spec.x", Message: "bad\rvalue"}
	if got, want := e.Error(), `base/x.yaml:3: "ServiceIntent/ns/a\nDENY b": spec.x: bad\rvalue`; got != want {
		t.Errorf("error = %s, want %s", got, want)
	}
}

func TestDecodeWithoutLines(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(svcHeader+"  versionz: []\n"), &raw); err != nil {
		t.Fatal(err)
	}
	_, err := Decode(raw, "base/reviews.yaml", 7)
	if got, want := err.Error(), "base/reviews.yaml:7: ServiceIntent/bookinfo/reviews: spec.versionz: unknown field"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestDecodeServiceIntent(t *testing.T) {
	doc, err := decodeYAML(t, svcHeader+`  versionLabel: track
  split:
  - version: v1
    weight: 70
  - version: v2
  routes:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
    to:
    - version: v3
    timeout: 1s
  timeout: 500ms
  trafficPolicy:
    connectionPool:
      maxConnections: 10
      connectTimeout: 30ms
`)
	if err != nil {
		t.Fatal(err)
	}
	if doc.NamespaceIntent != nil || doc.ServiceIntent == nil {
		t.Fatalf("Document = %+v, want a ServiceIntent", doc)
	}
	if got := doc.ID(); got != "ServiceIntent/bookinfo/reviews" {
		t.Errorf("ID() = %q", got)
	}
	want := v1alpha1.ServiceIntentSpec{
		VersionLabel: "track",
		Versions:     []v1alpha1.Version{{Name: "v1"}, {Name: "v2"}, {Name: "v3"}},
		Split:        []v1alpha1.Destination{{Version: "v1", Weight: 70}, {Version: "v2", Weight: 30}},
		Routes: []v1alpha1.Route{{
			Name:    "jason",
			Match:   []v1alpha1.Match{{Headers: map[string]v1alpha1.StringMatch{"end-user": {Exact: "jason"}}}},
			To:      []v1alpha1.Destination{{Version: "v3", Weight: 100}},
			Timeout: &metav1.Duration{Duration: time.Second},
		}},
		Timeout: &metav1.Duration{Duration: 500 * time.Millisecond},
		TrafficPolicy: &v1alpha1.TrafficPolicy{ConnectionPool: &v1alpha1.ConnectionPool{
			MaxConnections: 10, ConnectTimeout: &metav1.Duration{Duration: 30 * time.Millisecond}}},
	}
	if diff := cmp.Diff(want, doc.ServiceIntent.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if doc.Source != "base/reviews.yaml" || doc.Line != 1 || doc.Raw == nil {
		t.Errorf("Source, Line, Raw = %q, %d, %v", doc.Source, doc.Line, doc.Raw != nil)
	}
}

func TestDecodeNamespaceIntent(t *testing.T) {
	doc, err := decodeYAML(t, `apiVersion: meshintent.io/v1alpha1
kind: NamespaceIntent
metadata:
  name: bookinfo
  namespace: set-by-kustomize
  labels: {team: books}
spec:
  dataplane: sidecar
  revision: canary
  environment: production
  tracing: {provider: zipkin, samplingPercentage: 12.5}
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.ID(); got != "NamespaceIntent/bookinfo" {
		t.Errorf("ID() = %q", got)
	}
	pct := 12.5
	want := v1alpha1.NamespaceIntentSpec{Dataplane: v1alpha1.DataplaneSidecar, Revision: "canary",
		Environment: "production", Tracing: &v1alpha1.NamespaceTracing{Provider: "zipkin", SamplingPercentage: &pct}}
	if diff := cmp.Diff(want, doc.NamespaceIntent.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if got := doc.NamespaceIntent.Labels["team"]; got != "books" {
		t.Errorf("labels[team] = %q", got)
	}
}

func TestFindDocument(t *testing.T) {
	src := `apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: a, namespace: x}
---
# comment
apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: b
  namespace: x
spec:
  timeout: 1s
`
	docs, err := ParseDocuments([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	doc := FindDocument(docs, ObjectRef{Kind: "ServiceIntent", Namespace: "x", Name: "b"})
	if doc == nil {
		t.Fatal("document b not found")
	}
	if got := doc.Line; got != 6 {
		t.Errorf("document line = %d, want 6", got)
	}
	if got := NodeLine(doc, P("spec", "timeout")); got != 12 {
		t.Errorf("spec.timeout line = %d, want 12", got)
	}
	if got := NodeLine(doc, P("spec", "retries", "attempts")); got != 11 {
		t.Errorf("missing spec.retries.attempts line = %d, want 11 (spec)", got)
	}
}

func TestDecodeObjectMeta(t *testing.T) {
	doc, err := decodeYAML(t, strings.Replace(svcHeader, "  namespace: bookinfo\n",
		"  namespace: bookinfo\n  uid: 1234\n  creationTimestamp: \"2024-01-02T03:04:05Z\"\n  labels: {team: books}\n", 1))
	if err == nil {
		t.Fatalf("Decode accepted a numeric uid: %+v", doc.ServiceIntent.ObjectMeta)
	}
	if got, want := err.Error(), "base/reviews.yaml:6: ServiceIntent/bookinfo/reviews: metadata.uid: expected string, got number"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	doc, err = decodeYAML(t, strings.Replace(svcHeader, "  namespace: bookinfo\n",
		"  namespace: bookinfo\n  creationTimestamp: \"2024-01-02T03:04:05Z\"\n  annotations: {note: hi}\n", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.ServiceIntent.CreationTimestamp.UTC().Format(time.RFC3339); got != "2024-01-02T03:04:05Z" {
		t.Errorf("creationTimestamp = %s", got)
	}
	if got := doc.ServiceIntent.Annotations["note"]; got != "hi" {
		t.Errorf("annotations[note] = %q", got)
	}
}

package expand

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

func decodeIntent(t *testing.T, src string) intent.Document {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	doc, err := intent.Decode(raw, "base/x.yaml", 1)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var pathPart = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// get reads a dotted path such as spec.http[0].route[1].weight; keys may
// contain '/' but not '.'.
func get(obj map[string]any, path string) any {
	var cur any = obj
	for _, m := range pathPart.FindAllStringSubmatch(path, -1) {
		switch {
		case m[2] != "":
			s, ok := cur.([]any)
			i, _ := strconv.Atoi(m[2])
			if !ok || i >= len(s) {
				return "<missing>"
			}
			cur = s[i]
		default:
			mm, ok := cur.(map[string]any)
			if !ok {
				return "<missing>"
			}
			v, ok := mm[m[1]]
			if !ok {
				return "<missing>"
			}
			cur = v
		}
	}
	return cur
}

const svcIntent = `apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: reviews
  namespace: bookinfo
spec:
`

const threeVersions = `  versions:
  - name: v1
  - name: v2
  - name: v3
`

// reviewsWeights is the check that the reviews VirtualService's first
// route sends weights[i] to its i-th destination.
func reviewsWeights(weights ...int64) map[string]any {
	want := map[string]any{}
	for i, w := range weights {
		want[fmt.Sprintf("VirtualService/bookinfo/reviews spec.http[0].route[%d].weight", i)] = w
	}
	return want
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		// want maps "Kind/name path" to the value at that path; "<missing>" says absent.
		want map[string]any
		// kinds lists the generated objects' IDs, in order, when set.
		kinds []string
	}{{
		name: "a sidecar namespace",
		doc:  "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: shop}\nspec: {dataplane: sidecar}\n",
		want: map[string]any{
			"Namespace/shop metadata.labels.istio-injection": "enabled",
			"Namespace/shop metadata.namespace":              "<missing>",
			"Namespace/shop spec":                            "<missing>",
		},
		kinds: []string{"Namespace/shop"},
	}, {
		name: "a sidecar namespace on a revision",
		doc:  "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: shop}\nspec: {dataplane: sidecar, revision: canary}\n",
		want: map[string]any{
			"Namespace/shop metadata.labels.istio-injection": "<missing>",
		},
	}, {
		name: "an ambient namespace with tracing",
		doc:  "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: shop}\nspec:\n  dataplane: ambient\n  tracing: {provider: otel, samplingPercentage: 2.5}\n",
		want: map[string]any{
			"Namespace/shop metadata.labels.istio-injection":                             "<missing>",
			"Telemetry/shop/meshintent-tracing spec.tracing[0].providers[0].name":        "otel",
			"Telemetry/shop/meshintent-tracing spec.tracing[0].randomSamplingPercentage": 2.5,
			"Telemetry/shop/meshintent-tracing spec.selector":                            "<missing>",
		},
		kinds: []string{"Namespace/shop", "Telemetry/shop/meshintent-tracing"},
	}, {
		name: "a namespace out of the mesh",
		doc:  "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: legacy}\nspec: {dataplane: none}\n",
		want: map[string]any{"Namespace/legacy metadata.labels.istio-injection": "disabled"},
	}, {
		name: "a service without versions routes to its host",
		doc:  svcIntent + "  timeout: 2s\n",
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.hosts[0]":                            "reviews",
			"VirtualService/bookinfo/reviews spec.http[0].route[0].destination.host":   "reviews",
			"VirtualService/bookinfo/reviews spec.http[0].route[0].destination.subset": "<missing>",
			"VirtualService/bookinfo/reviews spec.http[0].route[0].weight":             "<missing>",
			"VirtualService/bookinfo/reviews spec.http[0].timeout":                     "2s",
		},
		kinds: []string{"VirtualService/bookinfo/reviews"},
	}, {
		name: "a service named apart from its intent",
		doc:  strings.Replace(svcIntent, "spec:\n", "spec:\n  service: reviews-svc\n  versions: [{name: v1}]\n  tracing: {}\n", 1),
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.hosts[0]":                            "reviews-svc",
			"DestinationRule/bookinfo/reviews spec.host":                               "reviews-svc",
			"VirtualService/bookinfo/reviews spec.http[0].route[0].destination.subset": "v1",
			"Telemetry/bookinfo/reviews-tracing spec.selector.matchLabels.app":         "reviews-svc",
			"Telemetry/bookinfo/reviews-tracing spec.tracing[0].providers":             "<missing>",
		},
		kinds: []string{"DestinationRule/bookinfo/reviews", "VirtualService/bookinfo/reviews", "Telemetry/bookinfo/reviews-tracing"},
	}, {
		name: "subsets from versions, the version label and label overrides",
		doc: svcIntent + `  versionLabel: track
  versions:
  - name: v1
  - name: v2
    labels: {version: v2, db: mongo}
`,
		want: map[string]any{
			"DestinationRule/bookinfo/reviews spec.subsets[0].name":           "v1",
			"DestinationRule/bookinfo/reviews spec.subsets[0].labels.track":   "v1",
			"DestinationRule/bookinfo/reviews spec.subsets[1].labels.version": "v2",
			"DestinationRule/bookinfo/reviews spec.subsets[1].labels.db":      "mongo",
			"DestinationRule/bookinfo/reviews spec.subsets[1].labels.track":   "<missing>",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy":             "<missing>",
			// Several versions and no split: the host, all pods.
			"VirtualService/bookinfo/reviews spec.http[0].route[0].destination.subset": "<missing>",
		},
	}, {
		name: "a weighted split",
		doc:  svcIntent + threeVersions + "  split: [{version: v1, weight: 60}, {version: v2, weight: 30}, {version: v3}]\n",
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[0].route[0].destination.subset": "v1",
			"VirtualService/bookinfo/reviews spec.http[0].route[0].weight":             int64(60),
			"VirtualService/bookinfo/reviews spec.http[0].route[1].weight":             int64(30),
			"VirtualService/bookinfo/reviews spec.http[0].route[2].weight":             int64(10),
			"VirtualService/bookinfo/reviews spec.http[0].match":                       "<missing>",
			"VirtualService/bookinfo/reviews spec.http[1]":                             "<missing>",
		},
	}, {
		name: "matching rules in order, then the split",
		doc: svcIntent + threeVersions + `  routes:
  - name: jason
    match:
    - headers: {end-user: {exact: jason}}
    to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  - match:
    - uri: {prefix: /beta}
      method: {exact: GET}
    - queryParams: {debug: {regex: "^1$"}}
    to: [{version: v3}]
  split: [{version: v1, weight: 100}]
`,
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[0].name":                             "jason",
			"VirtualService/bookinfo/reviews spec.http[0].match[0].headers.end-user.exact":  "jason",
			"VirtualService/bookinfo/reviews spec.http[0].route[1].destination.subset":      "v3",
			"VirtualService/bookinfo/reviews spec.http[0].route[1].weight":                  int64(50),
			"VirtualService/bookinfo/reviews spec.http[1].name":                             "<missing>",
			"VirtualService/bookinfo/reviews spec.http[1].match[0].uri.prefix":              "/beta",
			"VirtualService/bookinfo/reviews spec.http[1].match[0].method.exact":            "GET",
			"VirtualService/bookinfo/reviews spec.http[1].match[1].queryParams.debug.regex": "^1$",
			"VirtualService/bookinfo/reviews spec.http[1].route[0].weight":                  "<missing>",
			"VirtualService/bookinfo/reviews spec.http[2].match":                            "<missing>",
			"VirtualService/bookinfo/reviews spec.http[2].route[0].destination.subset":      "v1",
			"VirtualService/bookinfo/reviews spec.http[3]":                                  "<missing>",
		},
	}, {
		name: "a catch-all rule needs no split",
		doc: svcIntent + threeVersions + `  routes:
  - match: [{uri: {exact: /a}}]
    to: [{version: v2}]
  - to: [{version: v1}]
`,
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[1].route[0].destination.subset": "v1",
			"VirtualService/bookinfo/reviews spec.http[2]":                             "<missing>",
		},
	}, {
		name: "timeout, retries, fault and mirror on every route; a rule's own fault and timeout win",
		doc: svcIntent + threeVersions + `  routes:
  - match: [{uri: {exact: /slow}}]
    to: [{version: v2}]
    timeout: 10s
    fault: {abort: 500, percentage: 1.5}
  split: [{version: v1, weight: 100}]
  timeout: 1500ms
  retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,reset"}
  fault: {delay: 7s}
  mirror: {version: v3}
`,
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[0].timeout":                      "10s",
			"VirtualService/bookinfo/reviews spec.http[0].fault.abort.httpStatus":       int64(500),
			"VirtualService/bookinfo/reviews spec.http[0].fault.abort.percentage.value": 1.5,
			"VirtualService/bookinfo/reviews spec.http[0].fault.delay":                  "<missing>",
			"VirtualService/bookinfo/reviews spec.http[0].retries.attempts":             int64(3),
			"VirtualService/bookinfo/reviews spec.http[0].mirror.subset":                "v3",
			"VirtualService/bookinfo/reviews spec.http[1].timeout":                      "1.500s",
			"VirtualService/bookinfo/reviews spec.http[1].retries.perTryTimeout":        "0.500s",
			"VirtualService/bookinfo/reviews spec.http[1].retries.retryOn":              "5xx,reset",
			"VirtualService/bookinfo/reviews spec.http[1].fault.delay.fixedDelay":       "7s",
			"VirtualService/bookinfo/reviews spec.http[1].fault.delay.percentage.value": float64(100),
			"VirtualService/bookinfo/reviews spec.http[1].fault.abort":                  "<missing>",
			"VirtualService/bookinfo/reviews spec.http[1].mirror.host":                  "reviews",
			"VirtualService/bookinfo/reviews spec.http[1].mirror.subset":                "v3",
			"VirtualService/bookinfo/reviews spec.http[1].mirrorPercentage.value":       float64(100),
		},
	}, {
		name: "suspended versions get weight 0 and the others scale up",
		doc: svcIntent + threeVersions + `  routes:
  - match: [{headers: {end-user: {exact: jason}}}]
    to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  - match: [{uri: {prefix: /beta}}]
    to: [{version: v3}]
  split: [{version: v1, weight: 80}, {version: v2, weight: 15}, {version: v3, weight: 5}]
  mirror: {version: v3, percentage: 5}
  suspend: {versions: [v3], reason: regression}
`,
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[0].route[0].weight": int64(100),
			"VirtualService/bookinfo/reviews spec.http[0].route[1].weight": int64(0),
			"VirtualService/bookinfo/reviews spec.http[0].mirror":          "<missing>",
			// The /beta rule only went to v3: left out, its requests fall through.
			"VirtualService/bookinfo/reviews spec.http[1].match":           "<missing>",
			"VirtualService/bookinfo/reviews spec.http[1].route[0].weight": int64(84),
			"VirtualService/bookinfo/reviews spec.http[1].route[1].weight": int64(16),
			"VirtualService/bookinfo/reviews spec.http[1].route[2].weight": int64(0),
			"VirtualService/bookinfo/reviews spec.http[2]":                 "<missing>",
		},
	}, {
		name: "suspending the only weighted version shares equally",
		doc:  svcIntent + threeVersions + "  split: [{version: v1, weight: 100}, {version: v2, weight: 0}, {version: v3, weight: 0}]\n  suspend: {versions: [v1]}\n",
		want: reviewsWeights(0, 50, 50),
	}, {
		name: "suspending a version without a split spreads over the others",
		doc:  svcIntent + threeVersions + "  suspend: {versions: [v2]}\n",
		want: reviewsWeights(50, 0, 50),
	}, {
		name: "suspend all aborts every route",
		doc: svcIntent + threeVersions + `  routes:
  - match: [{uri: {exact: /a}}]
    to: [{version: v2}]
    fault: {delay: 1s}
  split: [{version: v1, weight: 100}]
  suspend: {all: true, httpStatus: 429, reason: maintenance}
`,
		want: map[string]any{
			"VirtualService/bookinfo/reviews spec.http[0].fault.abort.httpStatus":       int64(429),
			"VirtualService/bookinfo/reviews spec.http[0].fault.abort.percentage.value": float64(100),
			"VirtualService/bookinfo/reviews spec.http[0].fault.delay":                  "<missing>",
			"VirtualService/bookinfo/reviews spec.http[1].fault.abort.httpStatus":       int64(429),
			"VirtualService/bookinfo/reviews spec.http[1].route[0].destination.subset":  "v1",
		},
	}, {
		name: "suspend all answers 503 by default",
		doc:  svcIntent + "  suspend: {all: true}\n",
		want: map[string]any{"VirtualService/bookinfo/reviews spec.http[0].fault.abort.httpStatus": int64(503)},
	}, {
		name: "traffic policies for the service and for a version",
		doc: svcIntent + `  versions:
  - name: v1
  - name: v2
    trafficPolicy: {loadBalancer: RANDOM}
  trafficPolicy:
    tls: ISTIO_MUTUAL
    loadBalancer: LEAST_REQUEST
    connectionPool: {maxConnections: 10, connectTimeout: 30ms, http1MaxPendingRequests: 1, http2MaxRequests: 5, maxRequestsPerConnection: 1}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 100}
`,
		want: map[string]any{
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.tls.mode":                                     "ISTIO_MUTUAL",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.loadBalancer.simple":                          "LEAST_REQUEST",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.connectionPool.tcp.maxConnections":            int64(10),
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.connectionPool.tcp.connectTimeout":            "0.030s",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests":  int64(1),
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.connectionPool.http.http2MaxRequests":         int64(5),
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection": int64(1),
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.outlierDetection.consecutive5xxErrors":        int64(7),
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.outlierDetection.interval":                    "300s",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.outlierDetection.baseEjectionTime":            "900s",
			"DestinationRule/bookinfo/reviews spec.trafficPolicy.outlierDetection.maxEjectionPercent":          int64(100),
			"DestinationRule/bookinfo/reviews spec.subsets[0].trafficPolicy":                                   "<missing>",
			"DestinationRule/bookinfo/reviews spec.subsets[1].trafficPolicy.loadBalancer.simple":               "RANDOM",
		},
	}, {
		name: "service tracing selects the service's pods",
		doc:  svcIntent + "  tracing: {provider: zipkin, samplingPercentage: 100}\n",
		want: map[string]any{
			"Telemetry/bookinfo/reviews-tracing spec.selector.matchLabels.app":            "reviews",
			"Telemetry/bookinfo/reviews-tracing spec.tracing[0].providers[0].name":        "zipkin",
			"Telemetry/bookinfo/reviews-tracing spec.tracing[0].randomSamplingPercentage": float64(100),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decodeIntent(t, tt.doc)
			set := Expand(doc)
			byID := set.Index()
			if tt.kinds != nil {
				var ids []string
				for _, o := range set {
					ids = append(ids, o.ID())
				}
				if diff := cmp.Diff(tt.kinds, ids); diff != "" {
					t.Errorf("objects (-want +got):\n%s", diff)
				}
			}
			for key, want := range tt.want {
				id, path, _ := strings.Cut(key, " ")
				o, ok := byID[id]
				if !ok {
					t.Errorf("no %s among %v", id, keys(byID))
					continue
				}
				if got := get(o.Object, path); !cmp.Equal(want, got) {
					t.Errorf("%s %s = %#v, want %#v", id, path, got, want)
				}
			}
			for _, o := range set {
				checkProvenance(t, o, doc)
			}
		})
	}
}

// checkProvenance asserts the label, annotations and fields every generated object has.
func checkProvenance(t *testing.T, o manifest.Object, doc intent.Document) {
	t.Helper()
	if got := o.GetLabels()[manifest.ManagedByLabel]; got != manifest.ManagedByValue {
		t.Errorf("%s: label %s = %q", o.ID(), manifest.ManagedByLabel, got)
	}
	a := o.GetAnnotations()
	if a[manifest.IntentAnnotation] != doc.ID() || a[manifest.SourceAnnotation] != doc.Source {
		t.Errorf("%s: annotations = %v, want intent %s and source %s", o.ID(), a, doc.ID(), doc.Source)
	}
	if o.Intent != doc.ID() || o.Source != doc.Source {
		t.Errorf("%s: Intent, Source = %q, %q", o.ID(), o.Intent, o.Source)
	}
}

func keys(m map[string]manifest.Object) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExpandNamespaceLabels(t *testing.T) {
	tests := []struct {
		spec string
		want map[string]string
	}{
		{"{dataplane: sidecar}", map[string]string{"istio-injection": "enabled"}},
		{"{dataplane: sidecar, revision: 1-24}", map[string]string{"istio.io/rev": "1-24"}},
		{"{dataplane: ambient}", map[string]string{"istio.io/dataplane-mode": "ambient"}},
		{"{dataplane: none, environment: production}", map[string]string{"istio-injection": "disabled"}},
	}
	for _, tt := range tests {
		doc := decodeIntent(t, "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: shop}\nspec: "+tt.spec+"\n")
		ns := Expand(doc)[0]
		tt.want[manifest.ManagedByLabel] = manifest.ManagedByValue
		if diff := cmp.Diff(tt.want, ns.GetLabels()); diff != "" {
			t.Errorf("%s: labels (-want +got):\n%s", tt.spec, diff)
		}
	}
}

func TestProtoDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Second, "5s"},
		{500 * time.Millisecond, "0.500s"},
		{1500 * time.Millisecond, "1.500s"},
		{90 * time.Second, "90s"},
		{1500 * time.Microsecond, "0.001500s"},
		{time.Nanosecond, "0.000000001s"},
	}
	for _, tt := range tests {
		if got := protoDuration(tt.d); got != tt.want {
			t.Errorf("protoDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

package importer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/importer"
	"github.com/meshintent/meshintent/pkg/importer/importertest"
)

const ns = "shop"

// Shared pieces of the hand-written objects below.
const (
	reviewsDR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: NAMESPACE}
spec:
  host: reviews.NAMESPACE.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`
	vsHead = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: NAMESPACE}
spec:
  hosts: [reviews]
`
	toV1 = `
    route:
    - destination: {host: reviews.NAMESPACE.svc.cluster.local, subset: v1}
`
	// drHead starts a DestinationRule reviews for the short host reviews;
	// its spec continues after it.
	drHead = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: NAMESPACE}
spec:
  host: reviews
`
	// toService routes every request to the whole Service reviews.
	toService = `
  http:
  - route: [{destination: {host: reviews}}]
`
	catchAllV1 = `
  - route:
    - destination: {host: reviews.NAMESPACE.svc.cluster.local, subset: v1}
`
)

// vs returns reviewsDR and a VirtualService whose spec continues with body.
func vs(body string) string { return reviewsDR + "---" + vsHead + body }

// drVS returns drHead continued with drSpec and the VirtualService vsHead
// continued with vsBody.
func drVS(drSpec, vsBody string) string { return drHead + drSpec + "---" + vsHead + vsBody }

// reviewsSplit is a VirtualService body that splits reviews between
// subsets v1 and v2 with the given weights.
func reviewsSplit(v1, v2 int) string {
	return fmt.Sprintf(`
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: %d}
    - {destination: {host: reviews, subset: v2}, weight: %d}
`, v1, v2)
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // a file of testdata, or
		objects string // hand-written objects
		// spec is the imported intent's spec as YAML; empty when the service is skipped.
		spec string
		// name and service are the intent's metadata.name and spec.service.
		intentName string
		// notes are substrings of the notes' String(), in order.
		notes []string
	}{{
		name:    "a Kiali weighted routing becomes versions, a split and the traffic policy",
		fixture: "kiali-weighted.yaml",
		spec: `
versions: [{name: v1}, {name: v2}, {name: v3}]
split: [{version: v1, weight: 70}, {version: v2, weight: 20}, {version: v3, weight: 10}]
trafficPolicy: {tls: ISTIO_MUTUAL, loadBalancer: ROUND_ROBIN}`,
	}, {
		name:    "a Kiali request routing keeps its rules in order with their matches, timeout and fault",
		fixture: "kiali-request-routing.yaml",
		spec: `
versions: [{name: v1}, {name: v2}, {name: v3}]
routes:
- match: [{headers: {end-user: {exact: jason}}}]
  to: [{version: v2, weight: 100}]
- match:
  - headers: {cookie: {regex: '^(.*?;)?(user=beta)(;.*)?$'}, x-canary: {prefix: "yes"}}
  - uri: {prefix: /reviews/beta}
  to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  timeout: 2s
- match: [{uri: {exact: /reviews/debug}}, {method: {exact: POST}}]
  to: [{version: v3, weight: 100}]
  fault: {delay: 5s, percentage: 12.5}
split: [{version: v1, weight: 100}]
trafficPolicy: {tls: ISTIO_MUTUAL}`,
	}, {
		name:    "a version with weight 0 is suspended with a reason",
		fixture: "kiali-suspend-some.yaml",
		spec: `
versions: [{name: v1}, {name: v2}, {name: v3}]
split: [{version: v1, weight: 50}, {version: v2, weight: 0}, {version: v3, weight: 50}]
suspend: {versions: [v2], reason: "imported: weight 0 in live VirtualService reviews"}`,
		notes: []string{"reviews: VirtualService/shop/reviews spec.http: versions v2 get no traffic"},
	}, {
		name:    "versions left out of every route are suspended",
		fixture: "kiali-suspend-left-out.yaml",
		spec: `
versions: [{name: v1}, {name: v2}, {name: v3}]
split: [{version: v3, weight: 100}]
suspend: {versions: [v1, v2], reason: "imported: weight 0 in live VirtualService reviews"}`,
		notes: []string{"versions v1, v2 get no traffic"},
	}, {
		name:    "a 503 abort of every request to the Service suspends it all",
		fixture: "kiali-suspend-all.yaml",
		spec: `
versions: [{name: v1}, {name: v2}]
suspend: {all: true, httpStatus: 503, reason: "imported: every request aborted with 503 in live VirtualService reviews"}
trafficPolicy: {tls: ISTIO_MUTUAL}`,
		notes: []string{"imported as suspend.all"},
	}, {
		name: "short hosts, another version label key and a renamed DestinationRule",
		objects: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings-route, namespace: NAMESPACE}
spec:
  hosts: [ratings]
  http:
  - route:
    - {destination: {host: ratings, subset: stable}, weight: 90}
    - {destination: {host: ratings, subset: canary}, weight: 10}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: NAMESPACE}
spec:
  host: ratings
  subsets:
  - {name: stable, labels: {track: stable}}
  - {name: canary, labels: {track: canary-2}}
`,
		intentName: "ratings-route",
		spec: `
service: ratings
versionLabel: track
versions: [{name: stable}, {name: canary, labels: {track: canary-2}}]
split: [{version: stable, weight: 90}, {version: canary, weight: 10}]`,
		notes: []string{"ratings: DestinationRule/shop/ratings metadata.name: the intent renders it as DestinationRule/shop/ratings-route"},
	}, {
		name: "subsets with several labels list them per version",
		objects: drVS(`  subsets:
  - {name: v1, labels: {version: v1, tier: web}}
  - {name: v2, labels: {version: v2}}
`, reviewsSplit(50, 50)),
		spec: `
versions: [{name: v1, labels: {version: v1, tier: web}}, {name: v2, labels: {version: v2}}]
split: [{version: v1, weight: 50}, {version: v2, weight: 50}]`,
	}, {
		name: "retries, a timeout and a mirror shared by every route become the spec's",
		objects: vs(`
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route:
    - destination: {host: reviews, subset: v2}
    timeout: 3s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,reset"}
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 25}
  - route:
    - destination: {host: reviews, subset: v1}
    timeout: 3s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,reset"}
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 25}
`),
		spec: `
versions: [{name: v1}, {name: v2}]
routes:
- match: [{headers: {end-user: {exact: jason}}}]
  to: [{version: v2, weight: 100}]
split: [{version: v1, weight: 100}]
timeout: 3s
retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,reset"}
mirror: {version: v2, percentage: 25}`,
	}, {
		name: "a rule without a timeout of its own makes the catch-all a last rule without match",
		objects: vs(`
  http:
  - match: [{queryParams: {debug: {exact: "true"}}}]
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}
    timeout: 5s
`),
		spec: `
versions: [{name: v1}, {name: v2}]
routes:
- match: [{queryParams: {debug: {exact: "true"}}}]
  to: [{version: v2, weight: 100}]
- to: [{version: v1, weight: 100}]
  timeout: 5s`,
	}, {
		name: "a catch-all to the whole Service with several subsets leaves out the split",
		objects: vs(`
  http:
  - match: [{uri: {regex: "^/v2/.*"}}]
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews}
`),
		spec: `
versions: [{name: v1}, {name: v2}]
routes:
- match: [{uri: {regex: "^/v2/.*"}}]
  to: [{version: v2, weight: 100}]`,
	}, {
		name: "a connection pool, outlier detection and a subset's policy map to traffic policies",
		objects: drVS(`  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms}
      http: {http1MaxPendingRequests: 10, maxRequestsPerConnection: 1}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 100}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}}
`, reviewsSplit(80, 20)),
		spec: `
versions: [{name: v1}, {name: v2, trafficPolicy: {loadBalancer: LEAST_REQUEST}}]
split: [{version: v1, weight: 80}, {version: v2, weight: 20}]
trafficPolicy:
  connectionPool: {maxConnections: 100, connectTimeout: 30ms, http1MaxPendingRequests: 10, maxRequestsPerConnection: 1}
  outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 100}`,
	}, {
		name:    "a DestinationRule without VirtualService and with several subsets is imported with a note",
		objects: reviewsDR,
		spec: `
versions: [{name: v1}, {name: v2}]`,
		notes: []string{"DestinationRule/shop/reviews: no VirtualService routes this Service: the intent adds VirtualService shop/reviews"},
	}, {
		name: "a DestinationRule without VirtualService and with one subset is skipped",
		objects: drHead + `  subsets: [{name: v1, labels: {version: v1}}]
`,
		notes: []string{"with one version it sends every request to subset v1 instead of the whole Service (skipped)"},
	}, {
		name: "a rewrite, CORS and header manipulation are noted and skip the Service",
		objects: vs(`
  http:
  - rewrite: {uri: /}
    corsPolicy: {allowOrigins: [{exact: "https://example.com"}]}
    headers: {request: {set: {x-env: prod}}}` + toV1),
		notes: []string{
			"spec.http[0].corsPolicy: CORS policies cannot be expressed in a ServiceIntent (skipped)",
			"spec.http[0].headers: header manipulation cannot be expressed in a ServiceIntent (skipped)",
			"spec.http[0].rewrite: rewrites cannot be expressed in a ServiceIntent (skipped)",
		},
	}, {
		name: "gateways, exportTo and TCP routes are noted and skip the Service",
		objects: vs(`
  gateways: [mesh, shop-gateway]
  exportTo: ["."]
  tcp:
  - route: [{destination: {host: reviews, subset: v1}}]
  http:` + catchAllV1),
		notes: []string{
			"spec.exportTo: exportTo cannot be expressed",
			"spec.gateways: gateways (a ServiceIntent routes mesh-internal traffic only) cannot be expressed",
			"spec.tcp: TCP routes cannot be expressed",
		},
	}, {
		name: "a redirect, a delegate and several mirrors are noted",
		objects: vs(`
  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - match: [{uri: {prefix: /team}}]
    delegate: {name: team-routes}
  - mirrors: [{destination: {host: reviews, subset: v2}}]` + toV1),
		notes: []string{
			"spec.http[0].redirect: redirects cannot be expressed",
			"spec.http[0].route: no destination",
			"spec.http[1].delegate: delegation cannot be expressed",
			"spec.http[1].route: no destination",
			"spec.http[2].mirrors: several mirrors cannot be expressed",
		},
	}, {
		name: "a route to another Service's subsets skips the Service",
		objects: vs(`
  http:
  - route:
    - destination: {host: ratings.NAMESPACE.svc.cluster.local, subset: v1}
`),
		notes: []string{`spec.http[0].route[0].destination.host: routes to "ratings.shop.svc.cluster.local", not to Service reviews`},
	}, {
		name: "a subset the DestinationRule does not define skips the Service",
		objects: vs(`
  http:
  - route:
    - destination: {host: reviews, subset: v9}
`),
		notes: []string{`subset "v9" is not defined by DestinationRule reviews`},
	}, {
		name: "routes with different retries skip the Service",
		objects: vs(`
  http:
  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: reviews, subset: v2}}]
    retries: {attempts: 5}
  - route: [{destination: {host: reviews, subset: v1}}]
    retries: {attempts: 2}
`),
		notes: []string{"spec.http[1].retries: differs from spec.http[0].retries"},
	}, {
		name: "a VirtualService without catch-all skips the Service",
		objects: vs(`
  http:
  - match: [{uri: {prefix: /a}}]` + toV1),
		notes: []string{"spec.http[0].match: the last route matches: requests that match no route get 404"},
	}, {
		name: "a fault without percentage and an empty header match skip the Service",
		objects: vs(`
  http:
  - match: [{headers: {x-debug: {}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - fault: {abort: {httpStatus: 500}}` + toV1),
		notes: []string{
			"spec.http[0].match[0].headers.x-debug: matches presence only",
			"spec.http[0].match[0]: a match without conditions",
			"spec.http[1].fault.abort: no percentage",
		},
	}, {
		name: "MUTUAL TLS and consistent hashing skip the Service",
		objects: drVS(`  trafficPolicy:
    tls: {mode: MUTUAL, clientCertificate: /etc/certs/cert.pem}
    loadBalancer: {consistentHash: {httpHeaderName: x-user}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`, `
  http:`+catchAllV1),
		notes: []string{
			"spec.trafficPolicy.tls.clientCertificate: field clientCertificate cannot be expressed",
			"spec.trafficPolicy.tls.mode: MUTUAL needs client certificates",
			"spec.trafficPolicy.loadBalancer.consistentHash: consistent-hash load balancing cannot be expressed",
			"spec.trafficPolicy.loadBalancer: a load balancer without simple",
		},
	}, {
		name: "a policy that would render differently skips the Service with the diff",
		objects: drVS(`  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, outlierDetection: {}}
`, toService),
		notes: []string{"reviews: DestinationRule/shop/reviews spec: the imported intent would render a different spec (-live +rendered):"},
	}, {
		name: "a value the intent refuses skips the Service with the decoding error",
		objects: drVS(`  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}
`, toService),
		notes: []string{`reviews: the imported intent does not decode: reviews.yaml: ServiceIntent/shop/reviews: spec.trafficPolicy.loadBalancer: unsupported value "LEAST_CONN"`},
	}, {
		name: "a VirtualService for several hosts skips each Service it routes",
		objects: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: NAMESPACE}
spec:
  hosts: [reviews, reviews.example.com]
  http:
  - route: [{destination: {host: reviews}}]
`,
		notes: []string{`VirtualService/shop/reviews spec.hosts: hosts ["reviews" "reviews.example.com"]`},
	}, {
		name: "an object rendered by meshintent is skipped",
		objects: reviewsDR + `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: NAMESPACE
  labels: {app.kubernetes.io/managed-by: meshintent}
  annotations: {meshintent.io/intent: ServiceIntent/NAMESPACE/reviews}
spec:
  hosts: [reviews]
  http:` + catchAllV1,
		notes: []string{"already managed by meshintent (rendered from ServiceIntent/shop/reviews)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := importertest.ParseObjects(t, tt.objects, ns)
			if tt.fixture != "" {
				objs = importertest.Fixture(t, tt.fixture, ns)
			}
			res, err := importer.Convert(objs, importer.Options{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Services) != 1 {
				t.Fatalf("got %d services, want 1; notes:\n%s", len(res.Services), notesText(res.Notes))
			}
			s := res.Services[0]
			if diff := cmp.Diff(tt.notes, matchNotes(tt.notes, s.Notes)); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if tt.spec == "" {
				if !s.Skipped || s.Intent != nil {
					t.Fatalf("service was imported, want it skipped:\n%s", must(s.YAML()))
				}
				return
			}
			if s.Skipped {
				t.Fatalf("service was skipped:\n%s", notesText(s.Notes))
			}
			var want v1alpha1.ServiceIntentSpec
			if err := yaml.UnmarshalStrict([]byte(tt.spec), &want); err != nil {
				t.Fatalf("want spec: %v", err)
			}
			if diff := cmp.Diff(want, s.Intent.Spec); diff != "" {
				t.Errorf("intent spec (-want +got):\n%s", diff)
			}
			wantName := tt.intentName
			if wantName == "" {
				wantName = s.Name
			}
			if diff := cmp.Diff(wantName+"/"+ns, s.Intent.Name+"/"+s.Intent.Namespace); diff != "" {
				t.Errorf("intent name (-want +got):\n%s", diff)
			}
		})
	}
}

// mutualTLSDR is "---" and a DestinationRule name in NAMESPACE for host
// that sets ISTIO_MUTUAL TLS.
func mutualTLSDR(name, host string) string {
	return fmt.Sprintf(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: %s, namespace: NAMESPACE}
spec:
  host: %s
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
`, name, host)
}

func TestConvertGrouping(t *testing.T) {
	objs := importertest.ParseObjects(t, vs(`
  http:`+catchAllV1)+`---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin, namespace: NAMESPACE}
spec:
  hosts: [httpbin.org]
  http:
  - route: [{destination: {host: httpbin.org}}]
`+mutualTLSDR("details", "details.other.svc.cluster.local")+
		mutualTLSDR("productpage", "productpage.NAMESPACE.svc.cluster.local"), ns)

	t.Run("objects are grouped by the Service their host names, in name order", func(t *testing.T) {
		res, err := importer.Convert(objs, importer.Options{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Services {
			got = append(got, s.Name+" "+strings.Join(s.Objects, ","))
		}
		want := []string{
			"productpage DestinationRule/shop/productpage",
			"reviews VirtualService/shop/reviews,DestinationRule/shop/reviews",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
	})
	t.Run("hosts that name no Service of the namespace are notes without a Service", func(t *testing.T) {
		res, err := importer.Convert(objs, importer.Options{Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"productpage: DestinationRule/shop/productpage: no VirtualService routes this Service",
			"reviews: VirtualService/shop/reviews spec.http: versions v2 get no traffic",
			`VirtualService/shop/httpbin spec.hosts: hosts ["httpbin.org"] name no Service of namespace shop`,
			`DestinationRule/shop/details spec.host: host "details.other.svc.cluster.local" is not a Service of namespace shop`,
		}
		if diff := cmp.Diff(want, matchNotes(want, res.Notes)); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
	t.Run("a Service filter keeps only that Service and its notes", func(t *testing.T) {
		res, err := importer.Convert(objs, importer.Options{Namespace: ns, Service: "reviews"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Services {
			got = append(got, s.Name)
		}
		if diff := cmp.Diff([]string{"reviews"}, got); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
		want := []string{"reviews: VirtualService/shop/reviews spec.http: versions v2 get no traffic"}
		if diff := cmp.Diff(want, matchNotes(want, res.Notes)); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
	t.Run("a Service filter naming no Service is an error", func(t *testing.T) {
		_, err := importer.Convert(objs, importer.Options{Namespace: ns, Service: "nope"})
		want := `no VirtualService or DestinationRule of namespace shop is about service "nope"`
		if diff := cmp.Diff(want, errString(err)); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
	})
}

// matchNotes returns the notes' String()s, with each that contains the
// corresponding entry of want replaced by it, so that cmp.Diff shows only
// the notes that do not match.
func matchNotes(want []string, notes []importer.Note) []string {
	var got []string
	for i, n := range notes {
		s := n.String()
		if i < len(want) && strings.Contains(s, want[i]) {
			s = want[i]
		}
		got = append(got, s)
	}
	return got
}

func notesText(notes []importer.Note) string {
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n.String())
		b.WriteString("\n")
	}
	return b.String()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func must(b []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	return string(b)
}

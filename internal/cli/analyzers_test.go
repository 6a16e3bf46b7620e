package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vsHeader = "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"

// jwtClaimRoute is a VirtualService on the edge gateway routing on a JWT
// claim, with the document separator after it.
const jwtClaimRoute = vsHeader + `metadata: {name: api, namespace: edge}
spec:
  hosts: [api.example.com]
  gateways: [public]
  http:
  - match: [{headers: {"@request.auth.claims.groups": {exact: admin}}}]
    route: [{destination: {host: api-admin}}]
  - route: [{destination: {host: api}}]
---
`

// TestAnalyzers runs the CLI over a repository holding each case of the
// checks modelled on istioctl analyze as hand-written objects, and checks
// the object, the Istio message code, the severity and the exit code.
func TestAnalyzers(t *testing.T) {
	gateway := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*.example.com", "bookinfo/reviews.internal"]
    tls: {mode: SIMPLE, credentialName: example}
`
	tests := []struct {
		name     string
		objects  string
		want     []finding
		wantCode int
	}{{
		name: "IST0109: one host spelt two ways in two namespaces, both on the mesh gateway",
		objects: vsHeader + `metadata: {name: ratings, namespace: foo}
spec: {hosts: [ratings], http: [{route: [{destination: {host: ratings}}]}]}
---
` + vsHeader + `metadata: {name: ratings, namespace: bar}
spec: {hosts: [ratings.foo.svc.cluster.local], http: [{route: [{destination: {host: ratings.foo.svc.cluster.local}}]}]}
`,
		want: []finding{
			{"deny", "meshintent.uniquehosts", "VirtualService/bar/ratings", "IST0109"},
			{"deny", "meshintent.uniquehosts", "VirtualService/foo/ratings", "IST0109"},
		},
		wantCode: ExitDenied,
	}, {
		name: "IST0109: exported to different namespaces, they never meet",
		objects: vsHeader + `metadata: {name: ratings, namespace: foo}
spec: {hosts: [ratings], exportTo: ["."], http: [{route: [{destination: {host: ratings}}]}]}
---
` + vsHeader + `metadata: {name: ratings, namespace: bar}
spec: {hosts: [ratings.foo.svc.cluster.local], exportTo: ["."], http: [{route: [{destination: {host: ratings.foo.svc.cluster.local}}]}]}
`,
		wantCode: ExitOK,
	}, {
		name: "IST0130: two http rules with the same match",
		objects: vsHeader + `metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews}}]
  - match: [{name: again, headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews}}]
  - route: [{destination: {host: reviews}}]
`,
		want:     []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
		wantCode: ExitOK,
	}, {
		name: "IST0131: one clause of an OR covered by an earlier rule",
		objects: vsHeader + `metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: reviews}}]
  - match: [{uri: {prefix: /api/v2}}, {uri: {prefix: /static}}]
    route: [{destination: {host: reviews}}]
`,
		want:     []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0131"}},
		wantCode: ExitOK,
	}, {
		name: "IST0130: tls routes with the same port and SNI hosts, tcp routes after one without match",
		objects: vsHeader + `metadata: {name: passthrough, namespace: edge}
spec:
  hosts: ["*.example.com"]
  gateways: [public]
  tls:
  - match: [{port: 443, sniHosts: [api.example.com]}]
    route: [{destination: {host: api.example.com}}]
  - match: [{port: 443, sniHosts: [api.example.com]}]
    route: [{destination: {host: api2.example.com}}]
---
` + vsHeader + `metadata: {name: db, namespace: edge}
spec:
  hosts: [db]
  tcp:
  - route: [{destination: {host: db}}]
  - match: [{port: 5432}]
    route: [{destination: {host: db}}]
---
` + gateway,
		want: []finding{
			{"warn", "meshintent.catchall", "VirtualService/edge/db", "IST0130"},
			{"warn", "meshintent.catchall", "VirtualService/edge/passthrough", "IST0130"},
		},
		wantCode: ExitOK,
	}, {
		name: "IST0101: a gateway of a namespace the repository holds does not exist",
		objects: vsHeader + `metadata: {name: edge, namespace: edge}
spec: {hosts: [www.example.com], gateways: [private], http: [{route: [{destination: {host: www}}]}]}
---
` + gateway,
		want:     []finding{{"deny", "meshintent.gateways", "VirtualService/edge/edge", "IST0101"}},
		wantCode: ExitDenied,
	}, {
		name: "a gateway outside the repository's namespaces is not checked",
		objects: vsHeader + `metadata: {name: edge, namespace: edge}
spec: {hosts: [www.example.com], gateways: [istio-system/ingressgateway], http: [{route: [{destination: {host: www}}]}]}
`,
		wantCode: ExitOK,
	}, {
		name: "IST0132: hosts the gateway's servers do not accept, a namespace/host of another namespace among them",
		objects: vsHeader + `metadata: {name: reviews, namespace: other}
spec: {hosts: [reviews.internal, www.example.org], gateways: [edge/public], http: [{route: [{destination: {host: reviews}}]}]}
---
` + vsHeader + `metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews.internal], gateways: [edge/public], http: [{route: [{destination: {host: reviews}}]}]}
---
` + gateway,
		want:     []finding{{"warn", "meshintent.gatewayhosts", "VirtualService/other/reviews", "IST0132"}},
		wantCode: ExitOK,
	}, {
		name:     "IST0149: JWT claim routing without RequestAuthentication on the gateway's workload",
		objects:  jwtClaimRoute + gateway,
		want:     []finding{{"deny", "meshintent.jwtclaims", "VirtualService/edge/api", "IST0149"}},
		wantCode: ExitDenied,
	}, {
		name: "IST0149: a RequestAuthentication for the gateway's workload",
		objects: jwtClaimRoute + `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"}]
---
` + gateway,
		wantCode: ExitOK,
	}, {
		name: "IST0101: a subset no DestinationRule defines",
		objects: vsHeader + `metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v3}}]}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
`,
		want:     []finding{{"deny", "meshintent.subsets", "VirtualService/bookinfo/reviews", "IST0101"}},
		wantCode: ExitDenied,
	}, {
		name: "IST0112 and IST0101: no port for a multi-port host, a port it does not have",
		objects: vsHeader + `metadata: {name: api, namespace: bookinfo}
spec: {hosts: [api.example.com], http: [{route: [{destination: {host: api.example.com}}]}]}
---
` + vsHeader + `metadata: {name: api-tls, namespace: bookinfo}
spec: {hosts: [api2.example.com], http: [{route: [{destination: {host: api.example.com, port: {number: 8443}}}]}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: bookinfo}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
`,
		want: []finding{
			{"deny", "meshintent.destinationports", "VirtualService/bookinfo/api", "IST0112"},
			{"deny", "meshintent.destinationports", "VirtualService/bookinfo/api-tls", "IST0101"},
		},
		wantCode: ExitDenied,
	}, {
		name: "two DestinationRules for one host in one namespace",
		objects: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: bookinfo}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-tls, namespace: bookinfo}
spec: {host: reviews.bookinfo.svc.cluster.local, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`,
		want: []finding{
			{"warn", "meshintent.destinationrules", "DestinationRule/bookinfo/reviews", ""},
			{"warn", "meshintent.destinationrules", "DestinationRule/bookinfo/reviews-tls", ""},
		},
		wantCode: ExitOK,
	}, {
		name: "IST0134 and IST0177: TCP without addresses, one host and port with two protocols",
		objects: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: bookinfo}
spec: {hosts: [db.example.com], ports: [{number: 5432, name: db, protocol: TCP}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: bookinfo}
spec: {hosts: [api.example.com], ports: [{number: 443, name: https, protocol: HTTPS}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: other}
spec: {hosts: [api.example.com], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
`,
		want: []finding{
			{"warn", "meshintent.serviceentries", "ServiceEntry/bookinfo/api", "IST0177"},
			{"warn", "meshintent.serviceentries", "ServiceEntry/bookinfo/db", "IST0134"},
			{"warn", "meshintent.serviceentries", "ServiceEntry/other/api", "IST0177"},
		},
		wantCode: ExitOK,
	}, {
		name: "IST0110, IST0111, IST0159, IST0160: Sidecars and Telemetry selecting the same workloads",
		objects: `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: bookinfo}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default2, namespace: bookinfo}
spec: {egress: [{hosts: ["./*", "istio-system/*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: reviews}}, egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews-v2, namespace: bookinfo}
spec: {workloadSelector: {labels: {app: reviews, version: v2}}, egress: [{hosts: ["./*"]}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: other}
spec: {tracing: [{randomSamplingPercentage: 1}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: logs, namespace: other}
spec: {accessLogging: [{providers: [{name: envoy}]}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ratings, namespace: other}
spec: {selector: {matchLabels: {app: ratings}}, tracing: [{randomSamplingPercentage: 10}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ratings2, namespace: other}
spec: {selector: {matchLabels: {app: ratings}}, tracing: [{randomSamplingPercentage: 20}]}
`,
		want: []finding{
			{"deny", "meshintent.selectors", "Sidecar/bookinfo/default", "IST0111"},
			{"deny", "meshintent.selectors", "Sidecar/bookinfo/default2", "IST0111"},
			{"deny", "meshintent.selectors", "Sidecar/bookinfo/reviews", "IST0110"},
			{"deny", "meshintent.selectors", "Sidecar/bookinfo/reviews-v2", "IST0110"},
			{"deny", "meshintent.selectors", "Telemetry/other/logs", "IST0160"},
			{"deny", "meshintent.selectors", "Telemetry/other/mesh", "IST0160"},
			{"deny", "meshintent.selectors", "Telemetry/other/ratings", "IST0159"},
			{"deny", "meshintent.selectors", "Telemetry/other/ratings2", "IST0159"},
		},
		wantCode: ExitDenied,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRepo(t, map[string]string{"objects.yaml": tt.objects})
			code, got := analyze(t, dir)
			sortFindings(got)
			sortFindings(tt.want)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
		})
	}
}

func sortFindings(fs []finding) {
	slices.SortFunc(fs, func(a, b finding) int {
		return strings.Compare(a.Object+" "+a.Code+" "+a.Policy, b.Object+" "+b.Code+" "+b.Policy)
	})
}

// TestAnalyzersFindNothingInIstioBookinfo applies Istio's Bookinfo samples
// (testdata/istio-bookinfo) the way its documentation does, one scenario at
// a time, and checks that the analyzer policies find nothing but what
// istioctl analyze finds too: no false positive on Istio's own examples.
func TestAnalyzersFindNothingInIstioBookinfo(t *testing.T) {
	const samples = "testdata/istio-bookinfo/"
	read := func(t *testing.T, name string) string {
		t.Helper()
		b, err := os.ReadFile(samples + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	type scenario struct {
		files []string
		want  []finding
	}
	base := []string{"bookinfo-gateway", "destination-rule-all"}
	var scenarios []scenario
	for _, vs := range []string{
		"virtual-service-all-v1", "virtual-service-details-v2", "virtual-service-ratings-db",
		"virtual-service-ratings-mysql", "virtual-service-ratings-mysql-vm", "virtual-service-ratings-test-abort",
		"virtual-service-ratings-test-delay", "virtual-service-reviews-50-v3", "virtual-service-reviews-80-20",
		"virtual-service-reviews-90-10", "virtual-service-reviews-jason-v2-v3", "virtual-service-reviews-test-v2",
		"virtual-service-reviews-v2-v3", "virtual-service-reviews-v3",
	} {
		scenarios = append(scenarios, scenario{files: append(slices.Clone(base), vs)})
	}
	scenarios = append(scenarios,
		scenario{files: []string{"bookinfo-gateway", "destination-rule-all-mtls", "virtual-service-all-v1"}},
		scenario{files: []string{"bookinfo-gateway", "destination-rule-reviews", "virtual-service-reviews-v2-v3"}},
		scenario{files: []string{"egress-rule-google-apis"}},
		// This sample's second rule follows a rule without match: istioctl
		// analyze reports it too (IST0130, "only the last rule can have no
		// matches"), as a warning.
		scenario{
			files: []string{"bookinfo-gateway", "fault-injection-details-v1"},
			want:  []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/details", "IST0130"}},
		},
	)
	for _, sc := range scenarios {
		t.Run(strings.Join(sc.files, "+"), func(t *testing.T) {
			repo := map[string]string{}
			for _, f := range sc.files {
				repo[f+".yaml"] = read(t, f)
			}
			dir := writeRepo(t, repo)
			// The samples carry no namespace: apply them to bookinfo.
			k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), append([]byte("namespace: bookinfo\n"), k...), 0o644); err != nil {
				t.Fatal(err)
			}
			_, got := analyze(t, dir)
			if diff := cmp.Diff(sc.want, got); diff != "" {
				t.Errorf("findings on Istio's sample (-want +got):\n%s", diff)
			}
		})
	}
}

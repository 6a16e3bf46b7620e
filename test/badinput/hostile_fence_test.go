package badinput

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
)

// Objects a tenant fenced to bookinfo might try to sneak in: each lives in
// bookinfo, so a fence that looks only at metadata.namespace lets it pass.
var (
	// hijackVS claims the payments team's host.
	hijackVS = fixture("hijack-vs.yaml")
	// ingressVS binds to the platform's ingress gateway.
	ingressVS = fixture("ingress-vs.yaml")
	// stripeSE takes api.stripe.com over for the whole mesh.
	stripeSE = fixture("stripe-se.yaml")
	// exportedDR pushes a DestinationRule into every namespace.
	exportedDR = fixture("exported-dr.yaml")
)

// fenceCase is one repository run under --allowed-namespaces bookinfo.
type fenceCase struct {
	name string
	// file is added to base/ and listed in its kustomization.
	file, content string
	// flags are added to the fence.
	flags []string
	// code is the exit code; want are fragments stderr must hold, problems
	// the number of DENY lines.
	code     int
	want     []string
	problems int
}

// TestHostileFenceClaims applies repositories whose objects live inside the
// fence (namespace bookinfo) but claim what lies outside it: another team's
// host, the platform's gateway, an external host for the whole mesh, an
// export to every namespace. Each is denied by meshintent.tenancy naming the
// file, object and field, and nothing is applied; the same objects pass
// when the fence lists the gateway or host (a server-side dry-run, which
// writes nothing either).
func TestHostileFenceClaims(t *testing.T) {
	c := setUpCluster(t)
	fence := []string{"--allowed-namespaces", "bookinfo"}
	const gate = "nothing applied: the policy gate denied this revision"
	cases := []fenceCase{{
		name: "a VirtualService claiming another namespace's host is denied",
		file: "base/hijack.yaml", content: hijackVS,
		code: cli.ExitDenied, problems: 1,
		want: []string{"DENY base/hijack.yaml", `VirtualService/bookinfo/hijack spec.hosts[0]: host "payments.payments.svc.cluster.local" is a service of namespace "payments", outside the allowed namespaces [meshintent.tenancy]`, gate},
	}, {
		name: "a VirtualService binding to a gateway in istio-system is denied",
		file: "base/ingress.yaml", content: ingressVS,
		code: cli.ExitDenied, problems: 1,
		want: []string{"DENY base/ingress.yaml", `VirtualService/bookinfo/productpage-ingress spec.gateways[0]: gateway "istio-system/ingressgateway" is in namespace "istio-system", outside the allowed namespaces and not in sharedGateways [meshintent.tenancy]`, gate},
	}, {
		name: "a ServiceEntry taking api.stripe.com over for the whole mesh is denied",
		file: "base/stripe.yaml", content: stripeSE,
		code: cli.ExitDenied, problems: 2,
		want: []string{
			"DENY base/stripe.yaml", `ServiceEntry/bookinfo/stripe spec.hosts[0]: host "api.stripe.com" is no service of an allowed namespace and not in allowedExternalHosts [meshintent.tenancy]`,
			"DENY base/stripe.yaml", `ServiceEntry/bookinfo/stripe spec.exportTo[0]: exportTo "*" reaches beyond the allowed namespaces [meshintent.tenancy]`,
			gate,
		},
	}, {
		name: "a DestinationRule exported to every namespace is denied",
		file: "base/ratings-everywhere.yaml", content: exportedDR,
		code: cli.ExitDenied, problems: 1,
		want: []string{"DENY base/ratings-everywhere.yaml", `DestinationRule/bookinfo/ratings-everywhere spec.exportTo[0]: exportTo "*" reaches beyond the allowed namespaces [meshintent.tenancy]`, gate},
	}, {
		name: "the gateway passes when --shared-gateways lists it",
		file: "base/ingress.yaml", content: ingressVS,
		flags: []string{"--shared-gateways", "istio-system/ingressgateway", "--dry-run"},
		code:  cli.ExitOK,
	}, {
		name: "the ServiceEntry passes when --allowed-external-hosts covers its host",
		file: "base/stripe.yaml", content: stripeSE,
		flags: []string{"--allowed-external-hosts", "*.stripe.com", "--dry-run"},
		code:  cli.ExitOK,
	}, {
		name: "a listed external host does not open another namespace's host",
		file: "base/hijack.yaml", content: hijackVS,
		flags: []string{"--allowed-external-hosts", "*.stripe.com", "--shared-gateways", "istio-system/ingressgateway"},
		code:  cli.ExitDenied, problems: 1,
		want: []string{`VirtualService/bookinfo/hijack spec.hosts[0]: host "payments.payments.svc.cluster.local"`, gate},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer c.checkUnchanged(t)
			r := newBadRepo(t)
			r.addResource("base", tc.file, tc.content)
			args := append([]string{"apply", "--kubeconfig", c.kubeconfig, filepath.Join(r.Dir, goodPath)}, fence...)
			res := reconciler(t, 30*time.Second, append(args, tc.flags...)...)
			if res.code != tc.code {
				t.Errorf("exit code = %d, want %d", res.code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if tc.code == cli.ExitOK {
				if !strings.Contains(res.stdout, "dry-run ") || strings.Contains(res.stderr, "DENY") {
					t.Errorf("want a clean dry-run; stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
				}
				return
			}
			if res.stdout != "" {
				t.Errorf("stdout is not empty (a change set?):\n%s", clip(res.stdout))
			}
			checkReadable(t, res.stderr, tc.problems)
		})
	}
}

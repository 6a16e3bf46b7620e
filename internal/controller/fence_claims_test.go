package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/validate"
)

// claimsFence fences to bookinfo, with one shared gateway and two external
// hosts.
var claimsFence = Fence{
	Namespaces:           []string{"bookinfo"},
	SharedGateways:       []string{"istio-system/shared"},
	AllowedExternalHosts: []string{"api.stripe.com", "*.googleapis.com"},
}

// claimObject parses a passed-through object from YAML.
func claimObject(t *testing.T, src string) manifest.Object {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatalf("parsing %s: %v", src, err)
	}
	return manifest.Object{Unstructured: &unstructured.Unstructured{Object: m}, Source: "claims.yaml"}
}

func istio(kind, ns, spec string) string {
	return fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: %s\nmetadata: {name: x, namespace: %s}\nspec: %s\n", kind, ns, spec)
}

// claimCases are objects and the fields the fence denies in each (under
// claimsFence).
var claimCases = []struct {
	name   string
	object string
	want   []string
}{
	{"own short and full hosts, mesh and own gateways pass",
		istio("VirtualService", "bookinfo", `{hosts: [reviews, reviews.bookinfo.svc.cluster.local, "*.bookinfo.svc.cluster.local"], gateways: [mesh, gw, bookinfo/gw, ./gw], http: [{route: [{destination: {host: ratings}}]}]}`), nil},
	{"a shared gateway and listed external hosts pass",
		istio("VirtualService", "bookinfo", `{hosts: [api.stripe.com, storage.googleapis.com], gateways: [istio-system/shared]}`), nil},
	{"another namespace's host is denied in every spelling",
		istio("VirtualService", "bookinfo", `{hosts: [payments.payments.svc.cluster.local, payments.payments, payments.payments.svc, PAYMENTS.payments.svc.cluster.local]}`),
		[]string{"spec.hosts[0]", "spec.hosts[1]", "spec.hosts[2]", "spec.hosts[3]"}},
	{"a gateway of another namespace is denied, also in the legacy spelling and in a match",
		istio("VirtualService", "bookinfo", `{hosts: [reviews], gateways: [istio-system/ingressgateway, ingressgateway.istio-system], http: [{match: [{gateways: [istio-system/ingressgateway]}], route: [{destination: {host: reviews}}]}]}`),
		[]string{"spec.gateways[0]", "spec.gateways[1]", "spec.http[0].match[0].gateways[0]"}},
	{"route, tcp and mirror destinations outside are denied",
		istio("VirtualService", "bookinfo", `{hosts: [reviews], http: [{route: [{destination: {host: reviews}}, {destination: {host: ledger.payments.svc.cluster.local}}], mirror: {host: evil.example.com}, mirrors: [{destination: {host: x.payments}}]}], tcp: [{route: [{destination: {host: db.payments.svc}}]}]}`),
		[]string{"spec.http[0].route[1].destination.host", "spec.tcp[0].route[0].destination.host", "spec.http[0].mirror.host", "spec.http[0].mirrors[0].destination.host"}},
	{"star and cluster-wide wildcards are denied",
		istio("VirtualService", "bookinfo", `{hosts: ["*", "*.svc.cluster.local", "*.stripe.com"]}`),
		[]string{"spec.hosts[0]", "spec.hosts[1]", "spec.hosts[2]"}},
	{"a DestinationRule for another namespace's host or exported everywhere is denied",
		istio("DestinationRule", "bookinfo", `{host: payments.payments.svc.cluster.local, exportTo: ["*", ".", payments, "~"]}`),
		[]string{"spec.host", "spec.exportTo[0]", "spec.exportTo[2]"}},
	{"a DestinationRule for its own host exported inside passes",
		istio("DestinationRule", "bookinfo", `{host: reviews, exportTo: [".", bookinfo]}`), nil},
	{"a ServiceEntry taking over an unlisted external host mesh-wide is denied",
		istio("ServiceEntry", "bookinfo", `{hosts: [api.paypal.com], exportTo: ["*"]}`),
		[]string{"spec.hosts[0]", "spec.exportTo[0]"}},
	{"a ServiceEntry with no exportTo is exported mesh-wide: its hosts are checked",
		istio("ServiceEntry", "bookinfo", `{hosts: [api.paypal.com, api.stripe.com]}`),
		[]string{"spec.hosts[0]"}},
	{"a ServiceEntry for a listed host may export everywhere",
		istio("ServiceEntry", "bookinfo", `{hosts: [api.stripe.com], exportTo: ["*"]}`), nil},
	{"a ServiceEntry exported only inside may name any host",
		istio("ServiceEntry", "bookinfo", `{hosts: [api.paypal.com], exportTo: ["."]}`), nil},
	{"Sidecar egress from other namespaces is denied unless the host is listed",
		istio("Sidecar", "bookinfo", `{egress: [{hosts: ["*/*", istio-system/*, ./*, ~/*, bookinfo/*, "*/api.stripe.com", payments/api.paypal.com]}]}`),
		[]string{"spec.egress[0].hosts[0]", "spec.egress[0].hosts[1]", "spec.egress[0].hosts[6]"}},
	{"an object outside is denied for where it lives, not for its claims",
		istio("VirtualService", "payments", `{hosts: [payments], gateways: [istio-system/ingressgateway]}`),
		[]string{"metadata.namespace"}},
}

// TestFenceDeniesClaims checks what Fence.Check denies in each case.
func TestFenceDeniesClaims(t *testing.T) {
	for _, tc := range claimCases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range claimsFence.Check(nil, manifest.Set{claimObject(t, tc.object)}) {
				if r.Policy != TenancyPolicy || r.Severity != validate.SeverityDeny || r.Source != "claims.yaml" || r.Message == "" {
					t.Errorf("result %+v is not a %s denial of claims.yaml with a message", r, TenancyPolicy)
				}
				got = append(got, r.Field)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("denied fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFenceGoAndRegoAgree runs the same objects through Fence.Check and
// the built-in policy meshintent.tenancy (given Fence.Data) and requires
// the same denials: same object, field and, for claims, message.
func TestFenceGoAndRegoAgree(t *testing.T) {
	var set manifest.Set
	for i, tc := range claimCases {
		o := claimObject(t, tc.object)
		o.SetName(fmt.Sprintf("case-%02d", i))
		set = append(set, o)
	}
	fences := map[string]Fence{
		"the claims fence":                  claimsFence,
		"a fence with no lists":             {Namespaces: []string{"bookinfo"}},
		"a fence of two namespaces":         {Namespaces: []string{"bookinfo", "payments"}, SharedGateways: []string{"istio-system/ingressgateway"}},
		"a closed fence":                    {Closed: true},
		"no fence":                          {},
		"a fence in another cluster domain": {Namespaces: []string{"bookinfo"}, Domain: "example.org"},
	}
	for name, fence := range fences {
		t.Run(name, func(t *testing.T) {
			engine, err := validate.New(t.Context(), validate.Options{Data: fence.Data()})
			if err != nil {
				t.Fatal(err)
			}
			report, err := engine.Evaluate(t.Context(), validate.Input{Objects: set})
			if err != nil {
				t.Fatal(err)
			}
			key := func(r validate.Result) string {
				k := r.Object + " " + r.Field
				if !strings.HasPrefix(r.Field, "metadata.") { // the namespace messages differ in wording
					k += " " + r.Message
				}
				return k
			}
			var rego []string
			for _, r := range report.Results {
				if r.Policy == TenancyPolicy {
					rego = append(rego, key(r))
				}
			}
			var goResults []string
			for _, r := range fence.Check(nil, set) {
				goResults = append(goResults, key(r))
			}
			slices.Sort(rego)
			slices.Sort(goResults)
			if diff := cmp.Diff(goResults, rego); diff != "" {
				t.Errorf("Go (-) and Rego (+) disagree:\n%s", diff)
			}
			if fence.On() && len(goResults) < 3 {
				t.Errorf("only %d denials under a fence: the comparison is vacuous", len(goResults))
			}
		})
	}
}

// TestFenceFor checks how the controller's fence bounds an IntentSync's.
func TestFenceFor(t *testing.T) {
	controller := Fence{
		Namespaces:           []string{"a", "b"},
		SharedGateways:       []string{"istio-system/ingress"},
		AllowedExternalHosts: []string{"*.stripe.com"},
	}
	tests := []struct {
		name  string
		ctrl  Fence
		spec  v1alpha1.IntentSyncSpec
		want  Fence
		fence bool
	}{
		{"no controller fence leaves the IntentSync's", Fence{},
			v1alpha1.IntentSyncSpec{AllowedNamespaces: []string{"x"}, AllowedExternalHosts: []string{"*"}},
			Fence{Namespaces: []string{"x"}, AllowedExternalHosts: []string{"*"}}, true},
		{"no fence at all is open", Fence{}, v1alpha1.IntentSyncSpec{}, Fence{}, false},
		{"an IntentSync without a fence gets the controller's", controller, v1alpha1.IntentSyncSpec{}, controller, true},
		{"an IntentSync's lists are bounded by the controller's", controller,
			v1alpha1.IntentSyncSpec{
				AllowedNamespaces:    []string{"b", "c"},
				SharedGateways:       []string{"istio-system/ingress", "kube-system/gw"},
				AllowedExternalHosts: []string{"api.stripe.com", "*", "api.paypal.com"},
			},
			Fence{Namespaces: []string{"b"}, SharedGateways: []string{"istio-system/ingress"}, AllowedExternalHosts: []string{"api.stripe.com"}}, true},
		{"namespaces with none in common close the fence", controller,
			v1alpha1.IntentSyncSpec{AllowedNamespaces: []string{"c"}},
			Fence{Namespaces: []string{}, Closed: true, SharedGateways: controller.SharedGateways, AllowedExternalHosts: controller.AllowedExternalHosts}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.ctrl.For(tc.spec)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fence (-want +got):\n%s", diff)
			}
			if got.On() != tc.fence {
				t.Errorf("On() = %v, want %v", got.On(), tc.fence)
			}
		})
	}
	t.Run("a closed fence denies every object", func(t *testing.T) {
		got := Fence{Closed: true}.Check(nil, manifest.Set{claimObject(t, istio("DestinationRule", "a", "{host: r}"))})
		if len(got) != 1 || got[0].Field != "metadata.namespace" {
			t.Errorf("results %+v, want one metadata.namespace denial", got)
		}
	})
}

// claimingVirtualService is a VirtualService in ns that claims the host of
// Service payments in namespace victim.
func claimingVirtualService(ns, victim string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: hijack
  namespace: %s
spec:
  hosts:
  - payments.%s.svc.cluster.local
  http:
  - route:
    - destination:
        host: reviews
`, ns, victim)
}

func TestSyncFenceDeniesClaimsOnOtherNamespaces(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	victim := ns + "-victim"
	repo := newIntentRepo(t, map[string]string{
		"reviews.yaml": serviceIntent(ns, "reviews", 80, 20),
		"hijack.yaml":  claimingVirtualService(ns, victim),
	})
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.AllowedNamespaces = []string{ns} })
	got := waitReason(t, obj, v1alpha1.ReasonPolicyDenied, 30*time.Second)

	t.Run("the claim is denied by meshintent.tenancy naming the file and field", func(t *testing.T) {
		host := "payments." + victim + ".svc.cluster.local"
		want := v1alpha1.PolicyResult{
			Severity: "deny", Policy: TenancyPolicy, Object: "VirtualService/" + ns + "/hijack",
			Source: "hijack.yaml", Line: 8, Field: "spec.hosts[0]", // "  - payments.<victim>.svc.cluster.local"
			Message: fmt.Sprintf("host %q is a service of namespace %q, outside the allowed namespaces", host, victim),
		}
		if got.Status.Policy == nil || !slices.Contains(got.Status.Policy.Results, want) {
			t.Errorf("policy results = %+v, want %+v among them", got.Status.Policy, want)
		}
		if ready := condition(got, v1alpha1.ConditionReady); !strings.Contains(ready.Message, "hijack.yaml") {
			t.Errorf("Ready message %q does not name hijack.yaml", ready.Message)
		}
	})

	t.Run("nothing is applied", func(t *testing.T) {
		for _, name := range []string{"reviews", "hijack"} {
			env.CheckAbsent(t, vsGVK, ns, name)
		}
		if s := getSync(t, obj).Status; s.LastAppliedRevision != "" || s.Inventory != nil {
			t.Errorf("lastAppliedRevision %q, inventory %+v; want none", s.LastAppliedRevision, s.Inventory)
		}
	})
}

// TestSyncFencesNamespaces denies an intent for a namespace outside the
// fence, whether the IntentSync's allowedNamespaces draws it or, when the
// IntentSync sets none, the controller's Options.Fence does.
func TestSyncFencesNamespaces(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// allowed fences ns with the IntentSync's allowedNamespaces,
		// controller with the controller's fence.
		allowed, controller bool
	}{
		{name: "by allowedNamespaces", allowed: true},
		{name: "by the controller's fence, the default", controller: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns := env.Namespace(t)
			other := ns + "-other"
			repo := newIntentRepo(t, map[string]string{
				"reviews.yaml": serviceIntent(ns, "reviews", 80, 20),
				"foreign.yaml": serviceIntent(other, "payments", 100, 0),
			})
			startManager(t, ns, func(o *Options) {
				if tt.controller {
					o.Fence = Fence{Namespaces: []string{ns}}
				}
			})
			obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
				if tt.allowed {
					s.AllowedNamespaces = []string{ns}
				}
				s.CreateNamespaces = true
			})
			got := waitReason(t, obj, v1alpha1.ReasonPolicyDenied, 30*time.Second)

			t.Run("an intent outside the fence is denied by meshintent.tenancy naming the file", func(t *testing.T) {
				ready := condition(got, v1alpha1.ConditionReady)
				for _, want := range []string{TenancyPolicy, "foreign.yaml", other + "/payments"} {
					if !strings.Contains(ready.Message, want) {
						t.Errorf("Ready message %q does not name %q", ready.Message, want)
					}
				}
				want := v1alpha1.PolicyResult{
					Severity: "deny", Policy: TenancyPolicy, Object: "ServiceIntent/" + other + "/payments",
					Source: "foreign.yaml", Line: 3, Field: "metadata.namespace", // metadata: {name: payments, namespace: …}
					Message: fmt.Sprintf("namespace %q is outside this IntentSync's allowedNamespaces [%s]", other, ns),
				}
				if got.Status.Policy == nil || !slices.Contains(got.Status.Policy.Results, want) {
					t.Errorf("policy results = %+v, want %+v among them", got.Status.Policy, want)
				}
			})

			t.Run("nothing is applied", func(t *testing.T) {
				env.CheckAbsent(t, vsGVK, ns, "reviews")
				env.CheckAbsent(t, vsGVK, other, "payments")
				env.CheckAbsent(t, namespaceGVK, "", other)
				if s := getSync(t, obj).Status; s.LastAppliedRevision != "" || s.Inventory != nil {
					t.Errorf("lastAppliedRevision %q, inventory %+v; want none", s.LastAppliedRevision, s.Inventory)
				}
			})
		})
	}
}

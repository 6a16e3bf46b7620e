package meshhost_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/meshintent/meshintent/pkg/meshhost"
	"github.com/meshintent/meshintent/policies"
)

// regoHosts evaluates the functions of package meshintent.lib.hosts
// (policies/hosts.rego, as embedded in the binary) in-process.
type regoHosts struct {
	queries map[string]rego.PreparedEvalQuery
}

func newRegoHosts(t *testing.T) *regoHosts {
	t.Helper()
	src, err := fs.ReadFile(policies.FS, "hosts.rego")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := ast.ParseModuleWithOpts("hosts.rego", string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	r := &regoHosts{queries: map[string]rego.PreparedEvalQuery{}}
	for name, q := range map[string]string{
		"resolve":   `x := data.meshintent.lib.hosts.resolve(input.a, input.b, input.c)`,
		"namespace": `x := data.meshintent.lib.hosts.namespace_of(input.a, input.b)`,
		"covers":    `x := data.meshintent.lib.hosts.covers(input.a, input.b)`,
		"gateway":   `x := data.meshintent.lib.hosts.gateway_string(data.meshintent.lib.hosts.gateway(input.a, input.b))`,
		"target":    `x := data.meshintent.lib.hosts.export_target(input.a, input.b)`,
		"visible":   `x := data.meshintent.lib.hosts.visible(input.list, input.a, input.b, input.defaults)`,
	} {
		pq, err := rego.New(
			rego.Query(q),
			rego.ParsedModule(mod),
			rego.SetRegoVersion(ast.RegoV1),
		).PrepareForEval(context.Background())
		if err != nil {
			t.Fatalf("preparing %s: %v", name, err)
		}
		r.queries[name] = pq
	}
	return r
}

// eval runs query name with input and returns x, or nil when the function
// is undefined for that input.
func (r *regoHosts) eval(t *testing.T, name string, input map[string]any) any {
	t.Helper()
	rs, err := r.queries[name].Eval(context.Background(), rego.EvalInput(input))
	if err != nil {
		t.Fatalf("%s(%v): %v", name, input, err)
	}
	if len(rs) == 0 {
		return nil
	}
	return rs[0].Bindings["x"]
}

// hosts are the names the agreement tables run through every function:
// short, partial and full service names, wildcards, external names, mixed
// case, IPs and malformed ones.
var hosts = []string{
	"", "*", "reviews", "Reviews", "reviews.bookinfo", "reviews.bookinfo.svc",
	"reviews.bookinfo.svc.cluster.local", "payments.payments.svc.cluster.local",
	"Payments.Payments.SVC.cluster.local", "*.payments.svc.cluster.local", "*.svc.cluster.local",
	"*.cluster.local", "*.payments", "*.payments.svc", "x.*.svc.cluster.local", "a.b.payments.svc.cluster.local",
	"payments.payments.svc.example.org", "api.stripe.com", "*.stripe.com", "*.eu.stripe.com", "stripe.com",
	"evil-api.stripe.com", "10.0.0.1", "::1", "fe80::1", "a..svc.cluster.local", ".payments", "payments.",
	"a.svc", "svc", "*pay.payments.svc.cluster.local", "payments.payments.svc.cluster.local.",
}

var namespaces = []string{"bookinfo", ""}

var domains = []string{meshhost.DefaultDomain, "example.org", "Cluster.Local", ""}

// TestGoAndRegoAgree runs the same table through pkg/meshhost and
// package meshintent.lib.hosts and requires the same answer from both.
func TestGoAndRegoAgree(t *testing.T) {
	r := newRegoHosts(t)
	t.Run("resolve", func(t *testing.T) {
		for _, h := range hosts {
			for _, ns := range namespaces {
				for _, d := range domains {
					want := meshhost.Resolve(h, ns, d)
					if got := r.eval(t, "resolve", map[string]any{"a": h, "b": ns, "c": d}); got != want {
						t.Errorf("Resolve(%q, %q, %q): Go %q, Rego %v", h, ns, d, want, got)
					}
				}
			}
		}
	})
	t.Run("namespace of a host", func(t *testing.T) {
		for _, h := range hosts {
			for _, d := range domains {
				ns, ok := meshhost.Namespace(h, d)
				var want any
				if ok {
					want = ns
				}
				if got := r.eval(t, "namespace", map[string]any{"a": h, "b": d}); got != want {
					t.Errorf("Namespace(%q, %q): Go %v, Rego %v", h, d, want, got)
				}
			}
		}
	})
	t.Run("covers", func(t *testing.T) {
		for _, p := range hosts {
			for _, h := range hosts {
				var want any
				if meshhost.Covers(p, h) {
					want = true
				}
				if got := r.eval(t, "covers", map[string]any{"a": p, "b": h}); got != want {
					t.Errorf("Covers(%q, %q): Go %v, Rego %v", p, h, want, got)
				}
			}
		}
	})
	t.Run("gateways", func(t *testing.T) {
		for _, ref := range []string{
			"mesh", "ingress", "istio-system/ingressgateway", "./ingress", "ingressgateway.istio-system",
			"ingressgateway.istio-system.svc.cluster.local", "a/b/c", "/x", "x/", "Mesh", "mesh/mesh",
		} {
			for _, ns := range namespaces {
				want := meshhost.ParseGateway(ref, ns).String()
				if got := r.eval(t, "gateway", map[string]any{"a": ref, "b": ns}); got != want {
					t.Errorf("ParseGateway(%q, %q): Go %q, Rego %v", ref, ns, want, got)
				}
			}
		}
	})
	entries := []string{".", "*", "~", "shop", "bookinfo"}
	t.Run("export targets", func(t *testing.T) {
		for _, e := range entries {
			want := meshhost.ExportTarget(e, "bookinfo")
			if got := r.eval(t, "target", map[string]any{"a": e, "b": "bookinfo"}); got != want {
				t.Errorf("ExportTarget(%q): Go %q, Rego %v", e, want, got)
			}
		}
	})
	t.Run("visibility", func(t *testing.T) {
		lists := [][]string{{}, {"."}, {"*"}, {"~"}, {"shop"}, {".", "shop"}, {"~", "."}, {"other"}}
		for _, list := range lists {
			for _, defaults := range lists {
				for _, viewer := range []string{"bookinfo", "shop", ""} {
					want := meshhost.Visible(list, "bookinfo", viewer, defaults)
					got := r.eval(t, "visible", map[string]any{"list": list, "a": "bookinfo", "b": viewer, "defaults": defaults})
					if (got == true) != want {
						t.Errorf("Visible(%q, bookinfo, %q, %q): Go %v, Rego %v", list, viewer, defaults, want, got)
					}
				}
			}
		}
	})
}

// TestAgreementTableIsNotVacuous makes sure the table above exercises
// every answer: names that resolve, that do and do not name a namespace,
// that cover and do not.
func TestAgreementTableIsNotVacuous(t *testing.T) {
	var named, unnamed, covered int
	for _, h := range hosts {
		if _, ok := meshhost.Namespace(h, meshhost.DefaultDomain); ok {
			named++
		} else {
			unnamed++
		}
		for _, p := range hosts {
			if p != h && meshhost.Covers(p, h) {
				covered++
			}
		}
	}
	if named < 5 || unnamed < 5 || covered < 5 {
		t.Errorf("table too thin: %d hosts name a namespace, %d do not, %d covered pairs", named, unnamed, covered)
	}
}

package controller

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshhost"
	"github.com/meshintent/meshintent/pkg/validate"
)

// What an object inside a fence claims beyond it: the Go twin of the claim
// rules of policies/tenancy.rego. Fields and messages are the policy's,
// word for word; a test runs the same objects through both.

// claim is one thing an object may not claim: the field and why.
type claim struct {
	field, msg string
}

// claims returns what o, an object inside the fence, claims beyond it.
func (f Fence) claims(o manifest.Object) []claim {
	obj := o.Object
	if o.Lazy() {
		full, err := o.Load()
		if err != nil {
			return []claim{{"spec", fmt.Sprintf("cannot read the object to check what it claims: %v", err)}}
		}
		obj = full.Object
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	ns := o.GetNamespace()
	var out []claim
	host := func(field string, name any) {
		if s, ok := name.(string); ok {
			if msg, bad := f.hostProblem(meshhost.Resolve(s, ns, f.domain())); bad {
				out = append(out, claim{field, msg})
			}
		}
	}
	gateway := func(field string, ref any) {
		if s, ok := ref.(string); ok {
			if msg, bad := f.gatewayProblem(s, ns); bad {
				out = append(out, claim{field, msg})
			}
		}
	}
	switch o.GetKind() {
	case "VirtualService":
		for i, h := range listOf(spec, "hosts") {
			host(fmt.Sprintf("spec.hosts[%d]", i), h)
		}
		for i, g := range listOf(spec, "gateways") {
			gateway(fmt.Sprintf("spec.gateways[%d]", i), g)
		}
		for _, protocol := range []string{"http", "tcp", "tls"} {
			for i, rule := range listOf(spec, protocol) {
				r, _ := rule.(map[string]any)
				for j, m := range listOf(r, "match") {
					mm, _ := m.(map[string]any)
					for k, g := range listOf(mm, "gateways") {
						gateway(fmt.Sprintf("spec.%s[%d].match[%d].gateways[%d]", protocol, i, j, k), g)
					}
				}
				for j, d := range listOf(r, "route") {
					host(fmt.Sprintf("spec.%s[%d].route[%d].destination.host", protocol, i, j), nested(d, "destination", "host"))
				}
			}
		}
		for i, rule := range listOf(spec, "http") {
			host(fmt.Sprintf("spec.http[%d].mirror.host", i), nested(rule, "mirror", "host"))
			r, _ := rule.(map[string]any)
			for j, m := range listOf(r, "mirrors") {
				host(fmt.Sprintf("spec.http[%d].mirrors[%d].destination.host", i, j), nested(m, "destination", "host"))
			}
		}
	case "DestinationRule":
		host("spec.host", spec["host"])
	case "ServiceEntry":
		if !f.exportedInside(spec, ns) {
			for i, h := range listOf(spec, "hosts") {
				host(fmt.Sprintf("spec.hosts[%d]", i), h)
			}
		}
	case "Sidecar":
		for i, e := range listOf(spec, "egress") {
			em, _ := e.(map[string]any)
			for j, h := range listOf(em, "hosts") {
				if s, ok := h.(string); ok {
					if msg, bad := f.egressProblem(s); bad {
						out = append(out, claim{fmt.Sprintf("spec.egress[%d].hosts[%d]", i, j), msg})
					}
				}
			}
		}
	}
	for i, e := range listOf(spec, "exportTo") {
		s, ok := e.(string)
		if !ok {
			continue
		}
		target := meshhost.ExportTarget(s, ns)
		if target == meshhost.ExportNone || slices.Contains(f.Namespaces, target) {
			continue
		}
		if target == meshhost.ExportAll && o.GetKind() == "ServiceEntry" && f.hostsPass(spec, ns) {
			continue
		}
		out = append(out, claim{fmt.Sprintf("spec.exportTo[%d]", i), fmt.Sprintf("exportTo %q reaches beyond the allowed namespaces", s)})
	}
	return out
}

// hostProblem says why a fenced object may not name the resolved host h.
func (f Fence) hostProblem(h string) (string, bool) {
	if h == "*" {
		return `host "*" claims every host in the mesh`, true
	}
	ns, named := meshhost.Namespace(h, f.domain())
	switch {
	case named && slices.Contains(f.Namespaces, ns), meshhost.CoveredByAny(f.AllowedExternalHosts, h):
		return "", false
	case named:
		return fmt.Sprintf("host %q is a service of namespace %q, outside the allowed namespaces", h, ns), true
	default:
		return fmt.Sprintf("host %q is no service of an allowed namespace and not in allowedExternalHosts", h), true
	}
}

// gatewayProblem says why a VirtualService of namespace ns may not bind to
// the gateway ref.
func (f Fence) gatewayProblem(ref, ns string) (string, bool) {
	gw := meshhost.ParseGateway(ref, ns)
	if gw.IsMesh() || slices.Contains(f.Namespaces, gw.Namespace) || slices.Contains(f.SharedGateways, gw.String()) {
		return "", false
	}
	return fmt.Sprintf("gateway %q is in namespace %q, outside the allowed namespaces and not in sharedGateways", gw.String(), gw.Namespace), true
}

// egressProblem says why a Sidecar may not list the egress host
// "namespace/host". An entry without a slash is left to Istio's validation.
func (f Fence) egressProblem(entry string) (string, bool) {
	from, host, ok := strings.Cut(entry, "/")
	if !ok || from == "." || from == "~" || slices.Contains(f.Namespaces, from) || meshhost.CoveredByAny(f.AllowedExternalHosts, host) {
		return "", false
	}
	return fmt.Sprintf("egress host %q imports from namespace %q, outside the allowed namespaces, for a host not in allowedExternalHosts", entry, from), true
}

// exportedInside reports whether a ServiceEntry's exportTo is set and
// reaches only namespaces inside the fence.
func (f Fence) exportedInside(spec map[string]any, ns string) bool {
	entries := listOf(spec, "exportTo")
	if len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		s, ok := e.(string)
		if !ok {
			return false
		}
		if t := meshhost.ExportTarget(s, ns); t != meshhost.ExportNone && !slices.Contains(f.Namespaces, t) {
			return false
		}
	}
	return true
}

// hostsPass reports whether every host of a ServiceEntry passes the host
// check.
func (f Fence) hostsPass(spec map[string]any, ns string) bool {
	for _, h := range listOf(spec, "hosts") {
		s, ok := h.(string)
		if !ok {
			continue
		}
		if _, bad := f.hostProblem(meshhost.Resolve(s, ns, f.domain())); bad {
			return false
		}
	}
	return true
}

// listOf is m[key] as a list; nil when absent or not a list.
func listOf(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

// nested follows keys down nested maps; nil when any is missing.
func nested(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// claimResult is the deny result of a claim of o.
func claimResult(o manifest.Object, c claim) validate.Result {
	return validate.Result{
		Policy: TenancyPolicy, Rule: "deny", Severity: validate.SeverityDeny,
		Object: o.ID(), Source: o.Source, Field: c.field, Message: c.msg,
	}
}

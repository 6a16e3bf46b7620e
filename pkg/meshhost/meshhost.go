// Package meshhost is meshintent's one model of Istio host names: how a host
// an object names resolves to an FQDN, which namespace a resolved host
// belongs to, how wildcard hosts cover others, how gateway references and
// exportTo entries resolve. The tenancy fence and the policies use it; the
// Rego library package meshintent.lib.hosts (policies/hosts.rego) is its
// twin, and a test runs one table through both.
//
// Hosts are compared in lower case: DNS names and Envoy's virtual host
// domains are case-insensitive.
package meshhost

import "strings"

// DefaultDomain is the cluster's DNS domain when none is configured (Istio's
// and Kubernetes' default).
const DefaultDomain = "cluster.local"

// Resolve returns the FQDN host stands for in an object of namespace, the
// way Istio resolves short names: a name without a dot becomes
// <host>.<namespace>.svc.<domain>; "*", a name with a dot (also a partial
// one such as "reviews.bookinfo") and an IPv6 address (it has a colon) are
// taken as written. The result is in lower case. An empty namespace or
// domain leaves its part out, as Istio does.
func Resolve(host, namespace, domain string) string {
	h := strings.ToLower(host)
	if h == "" || h == "*" || strings.Contains(h, ".") || strings.Contains(h, ":") {
		return h
	}
	if namespace != "" {
		h += "." + namespace
	}
	if domain != "" {
		h += ".svc." + domain
	}
	return h
}

// Namespace returns the namespace whose Service a resolved host names, and
// whether it names one. These forms do, the ones Envoy serves a Service's
// virtual host under: <svc>.<ns>.svc.<domain>, <svc>.<ns>.svc and
// <svc>.<ns> (Kubernetes' DNS search path completes the last two). <svc>
// may be a wildcard ("*.bookinfo.svc.cluster.local" covers only bookinfo's
// hosts), <ns> may not hold "*"; the two-label form must not start with "*"
// ("*.payments" covers any host ending in .payments, not one namespace's).
// Anything else ("*", "*.svc.cluster.local", "api.stripe.com",
// "a.b.payments.svc.cluster.local") names no namespace. A two-label
// external name such as "stripe.com" reads as Service stripe of namespace
// com: a check that allows only some namespaces still refuses it.
func Namespace(host, domain string) (string, bool) {
	h := strings.ToLower(host)
	if domain != "" {
		if rest, ok := strings.CutSuffix(h, ".svc."+strings.ToLower(domain)); ok {
			if ns, ok := serviceNamespace(rest); ok {
				return ns, true
			}
		}
	}
	if rest, ok := strings.CutSuffix(h, ".svc"); ok {
		if ns, ok := serviceNamespace(rest); ok {
			return ns, true
		}
	}
	if !strings.HasPrefix(h, "*") {
		return serviceNamespace(h)
	}
	return "", false
}

// serviceNamespace reads "<svc>.<ns>": exactly two non-empty labels, the
// second without a wildcard.
func serviceNamespace(s string) (string, bool) {
	svc, ns, ok := strings.Cut(s, ".")
	if !ok || svc == "" || ns == "" || strings.ContainsAny(ns, ".*") {
		return "", false
	}
	return ns, true
}

// Covers reports whether pattern covers host, both resolved, as Istio's
// host.Name.SubsetOf does: equal names; "*" covers everything; a wildcard
// "*<suffix>" covers any name ending in <suffix>, and a wildcard host only
// when its own suffix ends in <suffix> ("*.stripe.com" covers
// "api.stripe.com" and "*.eu.stripe.com", not "stripe.com"). A plain
// pattern never covers a wildcard host.
func Covers(pattern, host string) bool {
	p, h := strings.ToLower(pattern), strings.ToLower(host)
	pw, hw := strings.HasPrefix(p, "*"), strings.HasPrefix(h, "*")
	switch {
	case hw && !pw:
		return false
	case hw:
		return strings.HasSuffix(h[1:], p[1:])
	case pw:
		return strings.HasSuffix(h, p[1:])
	default:
		return h == p
	}
}

// CoveredByAny reports whether any of patterns covers host (see Covers).
func CoveredByAny(patterns []string, host string) bool {
	for _, p := range patterns {
		if Covers(p, host) {
			return true
		}
	}
	return false
}

// Mesh is the reserved gateway name that stands for every sidecar.
const Mesh = "mesh"

// Gateway is a resolved gateway reference.
type Gateway struct {
	// Namespace of the Gateway; empty for Mesh.
	Namespace string
	// Name of the Gateway, or Mesh.
	Name string
}

// IsMesh reports whether g stands for the sidecars, not a Gateway.
func (g Gateway) IsMesh() bool { return g.Namespace == "" && g.Name == Mesh }

// String is "namespace/name", or "mesh".
func (g Gateway) String() string {
	if g.IsMesh() {
		return Mesh
	}
	return g.Namespace + "/" + g.Name
}

// ParseGateway resolves a VirtualService's gateway reference in namespace
// as Istio's ResolveGatewayName does: "mesh" is the sidecars;
// "<ns>/<name>" is as written ("./<name>" is namespace's); a name without
// a slash and without a dot is namespace's; the legacy "<name>.<ns>" and
// "<name>.<ns>.svc.cluster.local" name <ns>/<name>.
func ParseGateway(ref, namespace string) Gateway {
	if ref == Mesh {
		return Gateway{Name: Mesh}
	}
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		if ns == "." {
			ns = namespace
		}
		return Gateway{Namespace: ns, Name: name}
	}
	name, rest, ok := strings.Cut(ref, ".")
	if !ok {
		return Gateway{Namespace: namespace, Name: ref}
	}
	ns, _, _ := strings.Cut(rest, ".")
	return Gateway{Namespace: ns, Name: name}
}

// Export targets ExportTarget returns besides a namespace name.
const (
	// ExportAll is exportTo "*": every namespace.
	ExportAll = "*"
	// ExportNone is exportTo "~": no namespace.
	ExportNone = ""
)

// ExportTarget resolves one exportTo entry of an object in namespace: "."
// is namespace, "*" is ExportAll, "~" is ExportNone, anything else the
// namespace it names.
func ExportTarget(entry, namespace string) string {
	switch entry {
	case ".":
		return namespace
	case "*":
		return ExportAll
	case "~":
		return ExportNone
	default:
		return entry
	}
}

// Visible reports whether an object of namespace owner with exportTo is
// visible in namespace viewer. An empty exportTo takes defaults (MeshConfig's
// defaultVirtualServiceExportTo and its siblings), and "*" when defaults is
// empty too.
func Visible(exportTo []string, owner, viewer string, defaults []string) bool {
	if len(exportTo) == 0 {
		exportTo = defaults
	}
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch t := ExportTarget(e, owner); t {
		case ExportAll:
			return true
		case ExportNone:
		default:
			if t == viewer {
				return true
			}
		}
	}
	return false
}

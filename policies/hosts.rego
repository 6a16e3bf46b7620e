# Package meshintent.lib.hosts is the one model of Istio host names every
# policy and the tenancy fence use: resolving a host to an FQDN, the
# namespace a resolved host belongs to, wildcard cover, gateway references
# and exportTo visibility. It is the twin of the Go package pkg/meshhost; a
# Go test runs one table through both. Repository policies may import it
# (import data.meshintent.lib.hosts).
#
# Hosts are compared in lower case (DNS and Envoy's domains ignore case).
package meshintent.lib.hosts

# domain is the cluster's DNS domain: data.meshintent.config.clusterDomain,
# by default cluster.local. (A direct reference: object.get over
# data.meshintent.config would convert the whole config on every use.)
default domain := "cluster.local"

domain := data.meshintent.config.clusterDomain

# fqdn resolves host, named by an object of namespace ns, in the configured
# domain (see resolve).
fqdn(host, ns) := resolve(host, ns, domain)

# resolve returns the FQDN host stands for in an object of namespace ns, the
# way Istio resolves short names: a name without a dot becomes
# <host>.<ns>.svc.<dom>; "*", a name with a dot (also a partial one such as
# "reviews.bookinfo") and an IPv6 address (it has a colon) are taken as
# written. The result is in lower case; an empty ns or dom leaves its part
# out, as Istio does.
resolve(host, ns, dom) := h if {
	h := lower(host)
	_as_written(h)
} else := concat("", [lower(host), _part(".", ns), _part(".svc.", dom)])

_as_written(h) if h == ""

_as_written(h) if h == "*"

_as_written(h) if contains(h, ".")

_as_written(h) if contains(h, ":")

_part(_, value) := "" if value == ""

_part(sep, value) := concat("", [sep, value]) if value != ""

# namespace_of is the namespace whose Service the resolved host names in
# domain dom, undefined when it names none. These forms do:
# <svc>.<ns>.svc.<dom>, <svc>.<ns>.svc and <svc>.<ns>; <svc> may be a
# wildcard, <ns> may not hold "*", and the two-label form must not start
# with "*". "*", "*.svc.cluster.local" or "api.stripe.com" name none.
namespace_of(host, dom) := ns if {
	dom != ""
	h := lower(host)
	suffix := concat("", [".svc.", lower(dom)])
	endswith(h, suffix)
	ns := _service_namespace(substring(h, 0, count(h) - count(suffix)))
} else := ns if {
	h := lower(host)
	endswith(h, ".svc")
	ns := _service_namespace(substring(h, 0, count(h) - 4))
} else := ns if {
	h := lower(host)
	not startswith(h, "*")
	ns := _service_namespace(h)
}

# _service_namespace reads "<svc>.<ns>": two non-empty labels, the second
# without a wildcard.
_service_namespace(s) := labels[1] if {
	labels := split(s, ".")
	count(labels) == 2
	labels[0] != ""
	labels[1] != ""
	not contains(labels[1], "*")
}

# covers holds when pattern covers host, both resolved, as Istio's
# host.Name.SubsetOf: equal names; "*" covers everything; "*<suffix>"
# covers names ending in <suffix>, and a wildcard host only when its own
# suffix ends in <suffix>. A plain pattern never covers a wildcard host.
covers(pattern, host) if {
	p := lower(pattern)
	h := lower(host)
	not startswith(h, "*")
	not startswith(p, "*")
	h == p
}

covers(pattern, host) if {
	p := lower(pattern)
	h := lower(host)
	not startswith(h, "*")
	startswith(p, "*")
	endswith(h, substring(p, 1, -1))
}

covers(pattern, host) if {
	p := lower(pattern)
	h := lower(host)
	startswith(h, "*")
	startswith(p, "*")
	endswith(substring(h, 1, -1), substring(p, 1, -1))
}

# covered_by_any holds when one of patterns covers host.
covered_by_any(patterns, host) if {
	some p in patterns
	covers(p, host)
}

# gateway resolves a VirtualService's gateway reference in namespace ns to
# [namespace, name], ["", "mesh"] for the sidecars, as Istio's
# ResolveGatewayName: "<ns>/<name>" as written ("./<name>" is ns's), a name
# without slash or dot is ns's, the legacy "<name>.<ns>[.svc.…]" is
# <ns>/<name>.
gateway(ref, _) := ["", "mesh"] if ref == "mesh"

gateway(ref, ns) := [gw_ns, name] if {
	ref != "mesh"
	i := indexof(ref, "/")
	i >= 0
	written := substring(ref, 0, i)
	name := substring(ref, i + 1, -1)
	gw_ns := _dot_is(written, ns)
}

gateway(ref, ns) := [ns, ref] if {
	ref != "mesh"
	not contains(ref, "/")
	not contains(ref, ".")
}

gateway(ref, _) := [gw_ns, name] if {
	not contains(ref, "/")
	i := indexof(ref, ".")
	i >= 0
	name := substring(ref, 0, i)
	gw_ns := split(substring(ref, i + 1, -1), ".")[0]
}

_dot_is(".", ns) := ns

_dot_is(written, _) := written if written != "."

# gateway_string is a resolved gateway as "namespace/name", or "mesh".
gateway_string(gw) := "mesh" if gw == ["", "mesh"]
else := concat("/", gw)

# export_target resolves one exportTo entry of an object in namespace ns:
# "." is ns, "*" is "*" (every namespace), "~" is "" (none), anything else
# the namespace it names.
export_target(".", ns) := ns

export_target("*", _) := "*"

export_target("~", _) := ""

export_target(entry, _) := entry if not entry in {".", "*", "~"}

# visible holds when an object of namespace owner with export_to is visible
# in namespace viewer. An empty export_to takes defaults (MeshConfig's
# default…ExportTo), and "*" when defaults is empty too.
visible(export_to, owner, viewer, defaults) if {
	_exports(export_to, defaults) == []
}

visible(export_to, owner, viewer, defaults) if {
	some e in _exports(export_to, defaults)
	target := export_target(e, owner)
	target != ""
	target in {"*", viewer}
}

_exports(export_to, _) := export_to if count(export_to) > 0

_exports(export_to, defaults) := defaults if count(export_to) == 0

# export_scopes are the namespaces an object of namespace ns with export_to
# is visible in, as Istio's analyzers scope them: {"*"} for every namespace
# (an empty export_to, or one holding "*"), else the export targets ("."
# is ns) without "~".
export_scopes(export_to, _) := {"*"} if count(export_to) == 0

export_scopes(export_to, _) := {"*"} if "*" in export_to

export_scopes(export_to, ns) := {t |
	some e in export_to
	t := export_target(e, ns)
	t != ""
} if {
	count(export_to) > 0
	not "*" in export_to
}

# scopes_overlap holds when two sets of export_scopes share a namespace
# ("*" shares every one).
scopes_overlap(a, b) if "*" in a

scopes_overlap(a, b) if "*" in b

scopes_overlap(a, b) if count(a & b) > 0

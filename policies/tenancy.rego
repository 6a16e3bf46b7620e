# Package meshintent.tenancy: an IntentSync may be fenced to some namespaces
# (spec.allowedNamespaces, passed in as data.meshintent.config.allowedNamespaces;
# `reconciler --allowed-namespaces` on the command line). Then every intent and
# every object must stay inside the fence, and an object inside may not claim
# what lies outside it:
#
# - hosts (VirtualService hosts, http/tcp/tls route and mirror destinations,
#   DestinationRule host, ServiceEntry hosts) must be Services of allowed
#   namespaces (short names resolve in the object's namespace, see
#   meshintent.lib.hosts) or covered by config.allowedExternalHosts; "*"
#   never;
# - gateways (spec.gateways, match gateways) must be "mesh", in an allowed
#   namespace, or listed in config.sharedGateways ("namespace/name");
# - exportTo may not name a namespace outside the fence, nor "*" (except a
#   ServiceEntry all of whose hosts pass the host check); a ServiceEntry
#   exported only inside the fence may name any host;
# - a Sidecar's egress "namespace/host" must import from ".", "~" or an
#   allowed namespace, or name a host allowedExternalHosts covers.
#
# Such an object is denied, and nothing of that revision is applied. No fence
# (an empty list, config.fenced not true) allows everything. The controller
# runs the same rules in Go (internal/controller, Fence.Check); a test runs
# the same objects through both.
package meshintent.tenancy

import data.meshintent.lib.hosts

# The fence's settings, each [] when not set. (Direct references:
# object.get over data.meshintent.config would convert the whole config on
# every use.)
default allowed := []

allowed := data.meshintent.config.allowedNamespaces

default shared_gateways := []

shared_gateways := data.meshintent.config.sharedGateways

default external_hosts := []

external_hosts := data.meshintent.config.allowedExternalHosts

# fenced holds when a fence is in force: some namespaces are allowed, or
# config.fenced is true (a fence that allows none).
fenced if count(data.meshintent.config.allowedNamespaces) > 0

fenced if data.meshintent.config.fenced == true

# namespace_of is the namespace an input lives in or, for Namespaces and
# NamespaceIntents, the one it is.
namespace_of(obj) := obj.metadata.name if {
	obj.kind in {"Namespace", "NamespaceIntent"}
}

namespace_of(obj) := object.get(obj.metadata, "namespace", "") if {
	not obj.kind in {"Namespace", "NamespaceIntent"}
}

deny contains {"msg": msg, "field": field} if {
	fenced
	ns := namespace_of(input)
	not ns in allowed
	field := fence_field(input)
	msg := sprintf("namespace %q is outside the allowed namespaces %v", [ns, allowed])
}

fence_field(obj) := "metadata.name" if obj.kind in {"Namespace", "NamespaceIntent"}

fence_field(obj) := "metadata.namespace" if not obj.kind in {"Namespace", "NamespaceIntent"}

# deny reports the claims of an object inside the fence (one outside is
# denied for where it lives). The first expression reads the data directly
# and fails at once without a fence; the claim rules below are evaluated
# only for objects inside one, so without a fence they cost nothing.
deny contains claim if {
	input.metadata.namespace in data.meshintent.config.allowedNamespaces
	some claim in claims
}

# inside is the namespace of the object, which deny has checked is inside
# the fence.
inside := input.metadata.namespace

# claims are what an object inside the fence claims beyond it.

# VirtualService hosts.
claims contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i])} if {
	input.kind == "VirtualService"
	ns := inside
	some i, name in input.spec.hosts
	msg := host_problem(hosts.fqdn(name, ns))
}

# VirtualService route destinations.
claims contains {"msg": msg, "field": sprintf("spec.%s[%d].route[%d].destination.host", [protocol, i, j])} if {
	input.kind == "VirtualService"
	ns := inside
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	some j, dest in rule.route
	msg := host_problem(hosts.fqdn(dest.destination.host, ns))
}

# VirtualService mirrors.
claims contains {"msg": msg, "field": sprintf("spec.http[%d].mirror.host", [i])} if {
	input.kind == "VirtualService"
	ns := inside
	some i, rule in input.spec.http
	msg := host_problem(hosts.fqdn(rule.mirror.host, ns))
}

claims contains {"msg": msg, "field": sprintf("spec.http[%d].mirrors[%d].destination.host", [i, j])} if {
	input.kind == "VirtualService"
	ns := inside
	some i, rule in input.spec.http
	some j, mirror in rule.mirrors
	msg := host_problem(hosts.fqdn(mirror.destination.host, ns))
}

# VirtualService gateways.
claims contains {"msg": msg, "field": sprintf("spec.gateways[%d]", [i])} if {
	input.kind == "VirtualService"
	ns := inside
	some i, ref in input.spec.gateways
	msg := gateway_problem(ref, ns)
}

claims contains {"msg": msg, "field": sprintf("spec.%s[%d].match[%d].gateways[%d]", [protocol, i, j, k])} if {
	input.kind == "VirtualService"
	ns := inside
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	some j, match in rule.match
	some k, ref in match.gateways
	msg := gateway_problem(ref, ns)
}

# DestinationRule host.
claims contains {"msg": msg, "field": "spec.host"} if {
	input.kind == "DestinationRule"
	ns := inside
	msg := host_problem(hosts.fqdn(input.spec.host, ns))
}

# ServiceEntry hosts, unless it is exported only inside the fence.
claims contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i])} if {
	input.kind == "ServiceEntry"
	ns := inside
	not exported_inside(input.spec, ns)
	some i, name in input.spec.hosts
	msg := host_problem(hosts.fqdn(name, ns))
}

# Sidecar egress hosts.
claims contains {"msg": msg, "field": sprintf("spec.egress[%d].hosts[%d]", [i, j])} if {
	input.kind == "Sidecar"
	inside
	some i, egress in input.spec.egress
	some j, entry in egress.hosts
	msg := egress_problem(entry)
}

# exportTo, of any kind.
claims contains {"msg": msg, "field": sprintf("spec.exportTo[%d]", [i])} if {
	ns := inside
	some i, entry in input.spec.exportTo
	is_string(entry)
	target := hosts.export_target(entry, ns)
	target != ""
	not target in allowed
	not shared_export(input, target, ns)
	msg := sprintf("exportTo %q reaches beyond the allowed namespaces", [entry])
}

# shared_export holds for a ServiceEntry exported to "*" whose hosts all
# pass the host check.
shared_export(obj, "*", ns) if {
	obj.kind == "ServiceEntry"
	every name in object.get(obj.spec, "hosts", []) {
		not host_problem(hosts.fqdn(name, ns))
	}
}

# exported_inside holds when spec.exportTo is set and reaches only
# namespaces inside the fence.
exported_inside(spec, ns) if {
	count(spec.exportTo) > 0
	every entry in spec.exportTo {
		is_string(entry)
		target := hosts.export_target(entry, ns)
		target_inside(target)
	}
}

target_inside("")

target_inside(target) if target in allowed

# host_problem is why a fenced object may not name the resolved host h;
# undefined when it may.
host_problem("*") := `host "*" claims every host in the mesh`

host_problem(h) := msg if {
	h != "*"
	ns := hosts.namespace_of(h, hosts.domain)
	not ns in allowed
	not hosts.covered_by_any(external_hosts, h)
	msg := sprintf("host %q is a service of namespace %q, outside the allowed namespaces", [h, ns])
}

host_problem(h) := msg if {
	h != "*"
	not hosts.namespace_of(h, hosts.domain)
	not hosts.covered_by_any(external_hosts, h)
	msg := sprintf("host %q is no service of an allowed namespace and not in allowedExternalHosts", [h])
}

# gateway_problem is why a VirtualService of namespace ns may not bind to
# the gateway ref; undefined when it may.
gateway_problem(ref, ns) := msg if {
	gw := hosts.gateway(ref, ns)
	gw != ["", "mesh"]
	not gw[0] in allowed
	name := hosts.gateway_string(gw)
	not name in shared_gateways
	msg := sprintf("gateway %q is in namespace %q, outside the allowed namespaces and not in sharedGateways", [name, gw[0]])
}

# egress_problem is why a Sidecar may not list the egress host
# "namespace/host"; undefined when it may (an entry without a slash is left
# to Istio's validation).
egress_problem(entry) := msg if {
	i := indexof(entry, "/")
	i >= 0
	from := substring(entry, 0, i)
	not from in {".", "~"}
	not from in allowed
	not hosts.covered_by_any(external_hosts, substring(entry, i + 1, -1))
	msg := sprintf("egress host %q imports from namespace %q, outside the allowed namespaces, for a host not in allowedExternalHosts", [entry, from])
}

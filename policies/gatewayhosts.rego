# Package meshintent.gatewayhosts: a Gateway a VirtualService is bound to
# accepts one of its hosts, Istio's VirtualServiceHostNotFoundInGateway
# (IST0132); otherwise the gateway never routes to it. A server host
# "<ns>/<host>" accepts VirtualServices of namespace <ns> only ("." is the
# Gateway's namespace, "*" any); wildcards match either way, as Istio's
# host.Name.Matches. A Kubernetes Gateway's listener without hostname
# accepts every host. Only Gateways in the set are checked.
#
# The severity is data.meshintent.config.severity["meshintent.gatewayhosts"]
# (warn, as Istio's warning level; "off" turns it off).
package meshintent.gatewayhosts

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.gatewayhosts"] == "deny"
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.gatewayhosts"] in {"deny", "off"}
	some finding in findings
}

# findings are the gateways of input, a VirtualService, that accept none of
# its hosts.
findings contains {"msg": msg, "field": sprintf("spec.gateways[%d]", [i]), "code": "IST0132"} if {
	ns := lib.namespace(input)
	some i, ref in input.spec.gateways
	ref != "mesh"
	gateway := hosts.gateway(ref, ns)
	gw := index.gateways[concat("/", gateway)]
	not accepts(gw, input.spec.hosts, ns)
	msg := sprintf("Gateway %s accepts none of the hosts %s of namespace %s: the gateway does not route them", [concat("/", gateway), concat(", ", input.spec.hosts), ns])
}

# accepts holds when a server of gw accepts one of vs_hosts for a
# VirtualService of namespace vs_ns.
accepts(gw, vs_hosts, vs_ns) if {
	some server in gw.spec.servers
	some h in server.hosts
	[server_ns, name] := _split(h)
	_namespace_accepts(server_ns, lib.namespace(gw), vs_ns)
	some vs_host in vs_hosts
	_matches(name, vs_host, vs_ns)
}

accepts(gw, _, _) if {
	some listener in gw.spec.listeners
	object.get(listener, "hostname", "") == ""
}

accepts(gw, vs_hosts, vs_ns) if {
	some listener in gw.spec.listeners
	some vs_host in vs_hosts
	_matches(listener.hostname, vs_host, vs_ns)
}

_split(h) := [substring(h, 0, i), substring(h, i + 1, -1)] if {
	i := indexof(h, "/")
	i >= 0
} else := ["*", h]

_namespace_accepts("*", _, _)

_namespace_accepts(".", gw_ns, vs_ns) if gw_ns == vs_ns

_namespace_accepts(server_ns, _, vs_ns) if server_ns == vs_ns

_matches(gateway_host, vs_host, _) if hosts.covers(gateway_host, vs_host)

_matches(gateway_host, vs_host, _) if hosts.covers(vs_host, gateway_host)

_matches(gateway_host, vs_host, vs_ns) if hosts.covers(gateway_host, lib.fqdn(vs_host, vs_ns))

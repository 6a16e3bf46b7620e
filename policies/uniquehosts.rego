# Package meshintent.uniquehosts: one VirtualService per host.
#
# For the sidecars (the mesh gateway) this is Istio's
# ConflictingMeshGatewayVirtualServiceHosts (IST0109): two VirtualServices
# bound to the mesh gateway define the same host, whatever the spelling
# (reviews in namespace bookinfo and reviews.bookinfo.svc.cluster.local
# anywhere are one host) and whatever their namespaces, when their exportTo
# makes both visible in one namespace; Istio then uses only one of them.
# On another gateway, two VirtualServices of one namespace for the same
# host and gateway conflict the same way (meshintent's own check, no code).
#
# The severity is data.meshintent.config.severity["meshintent.uniquehosts"]
# (deny, as Istio's error level; "off" turns it off).
package meshintent.uniquehosts

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.uniquehosts"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.uniquehosts"] == "warn"
	some finding in findings
}

# findings are the conflicts of input, a VirtualService.
findings contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i]), "code": "IST0109"} if {
	ns := lib.namespace(input)
	"mesh" in lib.gateways(input)
	some i, name in input.spec.hosts
	host := lib.fqdn(name, ns)
	routes := index.virtual_services[host]
	count(routes) > 1
	self := lib.id(input)
	mine := hosts.export_scopes(object.get(input.spec, "exportTo", []), ns)
	others := {route.id |
		some route in routes
		route.gateway == "mesh"
		route.id != self
		hosts.scopes_overlap(mine, hosts.export_scopes(route.exportTo, route.namespace))
	}
	count(others) > 0
	msg := sprintf("host %s is also routed by %s: keep one VirtualService per host", [host, concat(", ", sort(others))])
}

findings contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i])} if {
	some gateway in input.spec.gateways
	gateway != "mesh"
	ns := lib.namespace(input)
	some i, name in input.spec.hosts
	host := lib.fqdn(name, ns)
	count(index.virtual_services[host]) > 1
	self := lib.id(input)
	others := {route.id |
		some route in index.virtual_services[host]
		route.namespace == ns
		route.gateway == gateway
		route.id != self
	}
	count(others) > 0
	msg := sprintf("host %s on gateway %s is also routed by %s: keep one VirtualService per host", [host, gateway, concat(", ", sort(others))])
}

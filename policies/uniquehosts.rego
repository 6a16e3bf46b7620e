# Package meshintent.uniquehosts: one VirtualService per host. Two
# VirtualServices of a namespace routing the same host (short names resolve
# within the namespace) on the same gateway conflict, and Istio uses only one.
package meshintent.uniquehosts

import data.meshintent.index
import data.meshintent.lib

deny contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i])} if {
	input.kind == "VirtualService"
	ns := object.get(input.metadata, "namespace", "")
	some i, name in input.spec.hosts
	host := lib.fqdn(name, ns)
	count(index.virtual_services[host]) > 1
	self := lib.id(input)
	some gateway in lib.gateways(input)
	others := {route.id |
		some route in index.virtual_services[host]
		route.namespace == ns
		route.gateway == gateway
		route.id != self
	}
	count(others) > 0
	msg := sprintf("host %s%s is also routed by %s: keep one VirtualService per host", [host, on_gateway(gateway), concat(", ", sort(others))])
}

on_gateway("mesh") := ""

on_gateway(gateway) := sprintf(" on gateway %s", [gateway]) if gateway != "mesh"

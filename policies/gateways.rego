# Package meshintent.gateways: every Gateway a VirtualService names exists,
# Istio's ReferencedResourceNotFound (IST0101) for gateways. A VirtualService
# bound to a missing Gateway is not served by any gateway.
#
# Offline, the set is all there is to look in: a reference into a namespace
# the repository holds (a Namespace object, an intent or a Gateway of that
# namespace in the set) must resolve within the set; a reference into
# another namespace (say istio-system/ingressgateway, installed with Istio)
# may name a Gateway the cluster has, and the check says nothing.
#
# The severity is data.meshintent.config.severity["meshintent.gateways"]
# (deny, as Istio's error level; "off" turns it off).
package meshintent.gateways

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.gateways"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.gateways"] == "warn"
	some finding in findings
}

# findings are the missing gateways of input, a VirtualService.
findings contains {"msg": msg, "field": sprintf("spec.gateways[%d]", [i]), "code": "IST0101"} if {
	ns := lib.namespace(input)
	some i, ref in input.spec.gateways
	ref != "mesh"
	gateway := hosts.gateway(ref, ns)
	not index.gateways[concat("/", gateway)]
	gateway[0] in index.owned_namespaces
	msg := sprintf("gateway %s is not defined: no Gateway %s in namespace %s, which the repository holds", [ref, gateway[1], gateway[0]])
}

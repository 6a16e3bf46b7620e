# Package meshintent.destinationports: the ports of route and mirror
# destinations, Istio's DestinationHostAnalyzer on ports.
#
#   - a destination without port, whose host has more than one port, is
#     ambiguous: VirtualServiceDestinationPortSelectorRequired (IST0112);
#   - a destination port the host does not have: ReferencedResourceNotFound
#     (IST0101, host:port).
#
# The ports are those of the ServiceEntries (exported to the
# VirtualService's namespace) and Services of the set defining the host.
# A host the set does not define is not checked: its ports are in the
# cluster.
#
# The severity is data.meshintent.config.severity["meshintent.destinationports"]
# (deny, as Istio's error level).
package meshintent.destinationports

import data.meshintent.index
import data.meshintent.lib

deny contains finding if {
	input.kind == "VirtualService"
	object.get(data.meshintent.config, ["severity", "meshintent.destinationports"], "deny") == "deny"
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	object.get(data.meshintent.config, ["severity", "meshintent.destinationports"], "deny") == "warn"
	some finding in findings
}

findings contains {"msg": msg, "field": field, "code": "IST0112"} if {
	ns := lib.namespace(input)
	some [field, dest] in destinations
	not dest.port.number
	host := lib.fqdn(dest.host, ns)
	ports := _ports(host, ns)
	count(ports) > 1
	msg := sprintf("destination %s has no port and the host has several (%s): set port.number", [dest.host, _list(ports)])
}

findings contains {"msg": msg, "field": concat(".", [field, "port.number"]), "code": "IST0101"} if {
	ns := lib.namespace(input)
	some [field, dest] in destinations
	number := dest.port.number
	host := lib.fqdn(dest.host, ns)
	ports := _ports(host, ns)
	count(ports) > 0
	not number in ports
	msg := sprintf("port %d of host %s is not defined: the host has %s", [number, host, _list(ports)])
}

# destinations are [field, destination] of every route and mirror
# destination of input.
destinations contains [sprintf("spec.%s[%d].route[%d].destination", [protocol, i, j]), d.destination] if {
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	some j, d in rule.route
}

destinations contains [sprintf("spec.http[%d].mirror", [i]), rule.mirror] if {
	some i, rule in input.spec.http
}

destinations contains [sprintf("spec.http[%d].mirrors[%d].destination", [i, j]), m.destination] if {
	some i, rule in input.spec.http
	some j, m in rule.mirrors
}

_ports(host, ns) := {p |
	some def in index.service_ports[host]
	_visible(def, ns)
	some p in def.ports
}

_visible(def, _) if "*" in def.scopes

_visible(def, ns) if ns in def.scopes

_list(ports) := concat(", ", [sprintf("%d", [p]) | some p in sort(ports)])

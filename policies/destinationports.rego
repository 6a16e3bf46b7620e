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
# (deny, as Istio's error level; "off" turns it off).
package meshintent.destinationports

import data.meshintent.index
import data.meshintent.lib

deny contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.destinationports"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.destinationports"] == "warn"
	some finding in findings
}

findings contains {"msg": msg, "field": field, "code": "IST0112"} if {
	ns := lib.namespace(input)
	some [path, dest] in destinations
	not dest.port.number
	ports := _ports(lib.fqdn(dest.host, ns), ns)
	count(ports) > 1
	field := _field(path)
	msg := sprintf("destination %s has no port and the host has several (%s): set port.number", [dest.host, _list(ports)])
}

findings contains {"msg": msg, "field": concat(".", [_field(path), "port.number"]), "code": "IST0101"} if {
	ns := lib.namespace(input)
	some [path, dest] in destinations
	number := dest.port.number
	host := lib.fqdn(dest.host, ns)
	ports := _ports(host, ns)
	count(ports) > 0
	not number in ports
	msg := sprintf("port %d of host %s is not defined: the host has %s", [number, host, _list(ports)])
}

# destinations are [path, destination] of every route and mirror
# destination of input whose host the set defines: path is [protocol, i, j]
# for route j of rule i, ["mirror", i, -1] and ["mirrors", i, j].
destinations contains [[protocol, i, j], d.destination] if {
	# Most sets have no ServiceEntry: skip the host lookups then.
	count(index.service_ports) > 0
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	some j, d in rule.route
	index.service_ports[lib.fqdn(d.destination.host, lib.namespace(input))]
}

destinations contains [["mirror", i, -1], rule.mirror] if {
	# Most sets have no ServiceEntry: skip the host lookups then.
	count(index.service_ports) > 0
	some i, rule in input.spec.http
	index.service_ports[lib.fqdn(rule.mirror.host, lib.namespace(input))]
}

destinations contains [["mirrors", i, j], m.destination] if {
	# Most sets have no ServiceEntry: skip the host lookups then.
	count(index.service_ports) > 0
	some i, rule in input.spec.http
	some j, m in rule.mirrors
	index.service_ports[lib.fqdn(m.destination.host, lib.namespace(input))]
}

_field(["mirror", i, _]) := sprintf("spec.http[%d].mirror", [i])

_field(["mirrors", i, j]) := sprintf("spec.http[%d].mirrors[%d].destination", [i, j])

_field([protocol, i, j]) := sprintf("spec.%s[%d].route[%d].destination", [protocol, i, j]) if not protocol in {"mirror", "mirrors"}

_ports(host, ns) := {p |
	some def in index.service_ports[host]
	_visible(def, ns)
	some p in def.ports
}

_visible(def, _) if "*" in def.scopes

_visible(def, ns) if ns in def.scopes

_list(ports) := concat(", ", [sprintf("%d", [p]) | some p in sort(ports)])

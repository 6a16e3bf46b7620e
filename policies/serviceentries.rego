# Package meshintent.serviceentries: ServiceEntries Istio can serve as
# written.
#
#   - A ServiceEntry without addresses serving TCP (a port whose protocol is
#     TCP or unset) cannot be told apart from other TCP traffic on that
#     port: ServiceEntryAddressesRequired (IST0134), unless the mesh
#     allocates addresses (set
#     data.meshintent.config.serviceEntries.addressAutoAllocation).
#   - Two ServiceEntries visible in one namespace (exportTo) defining the
#     same host and port with different protocols:
#     ConflictingServiceEntryProtocol (IST0177).
#
# The severity is data.meshintent.config.severity["meshintent.serviceentries"]
# (warn, as Istio's warning level; "off" turns it off).
package meshintent.serviceentries

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "ServiceEntry"
	data.meshintent.config.severity["meshintent.serviceentries"] == "deny"
	some finding in findings
}

warn contains finding if {
	input.kind == "ServiceEntry"
	not data.meshintent.config.severity["meshintent.serviceentries"] in {"deny", "off"}
	some finding in findings
}

findings contains {"msg": msg, "field": sprintf("spec.ports[%d]", [i]), "code": "IST0134"} if {
	not input.spec.addresses
	not data.meshintent.config.serviceEntries.addressAutoAllocation
	some i, port in input.spec.ports
	upper(object.get(port, "protocol", "")) in {"", "TCP"}
	msg := sprintf("port %d serves TCP but the ServiceEntry has no addresses: set spec.addresses, or the sidecars cannot tell its traffic from other TCP traffic on that port", [port.number])
}

findings contains {"msg": msg, "field": sprintf("spec.ports[%d].protocol", [i]), "code": "IST0177"} if {
	ns := lib.namespace(input)
	mine := hosts.export_scopes(object.get(input.spec, "exportTo", []), ns)
	self := lib.id(input)
	some name in input.spec.hosts
	some i, port in input.spec.ports
	host := lib.fqdn(name, ns)
	defs := index.service_entry_protocols[sprintf("%s:%d", [host, port.number])]
	count(defs) > 1
	protocol := upper(object.get(port, "protocol", ""))
	others := {def.id |
		some def in defs
		def.id != self
		def.protocol != protocol
		hosts.scopes_overlap(mine, def.scopes)
	}
	count(others) > 0
	msg := sprintf("port %d of host %s is %s here but has another protocol in %s: Istio uses one of them", [port.number, host, _protocol(protocol), concat(", ", sort(others))])
}

_protocol("") := "unset"

_protocol(p) := p if p != ""

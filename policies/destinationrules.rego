# Package meshintent.destinationrules: one DestinationRule per host and
# namespace. Istio merges the DestinationRules of one namespace for one host
# (without workloadSelector, visible in a common namespace) in creation
# order: only the first one's traffic policy applies, and a later subset of
# a name already defined is dropped, so which settings hold depends on the
# order the objects were created in. istioctl analyze has no message code
# for this (Istio logs it when it merges).
#
# The severity is data.meshintent.config.severity["meshintent.destinationrules"]
# (warn; "off" turns it off).
package meshintent.destinationrules

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "DestinationRule"
	data.meshintent.config.severity["meshintent.destinationrules"] == "deny"
	some finding in findings
}

warn contains finding if {
	input.kind == "DestinationRule"
	not data.meshintent.config.severity["meshintent.destinationrules"] in {"deny", "off"}
	some finding in findings
}

findings contains {"msg": msg, "field": "spec.host"} if {
	count(index.destination_rule_merges) > 0
	not input.spec.workloadSelector
	ns := lib.namespace(input)
	host := lib.fqdn(input.spec.host, ns)
	merged := index.destination_rule_merges[host]
	self := lib.id(input)
	mine := hosts.export_scopes(object.get(input.spec, "exportTo", []), ns)
	others := {rule.id |
		some rule in merged
		rule.id != self
		rule.namespace == ns
		hosts.scopes_overlap(mine, rule.scopes)
	}
	count(others) > 0
	msg := sprintf("host %s also has %s: Istio merges them in creation order, only the first one's traffic policy applies and a repeated subset is dropped; keep one DestinationRule per host", [host, concat(", ", sort(others))])
}

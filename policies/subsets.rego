# Package meshintent.subsets: every subset a VirtualService routes or mirrors
# to is defined by a DestinationRule for that host in the rendered set;
# otherwise the requests fail with 503 (no healthy upstream). This is
# Istio's ReferencedResourceNotFound (IST0101) for host+subset.
#
# The severity is data.meshintent.config.severity["meshintent.subsets"]
# (deny, as Istio's error level; "off" turns it off).
package meshintent.subsets

import data.meshintent.index
import data.meshintent.lib

deny contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.subsets"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.subsets"] == "warn"
	some finding in findings
}

findings contains {"msg": missing(host, subset), "field": field, "code": "IST0101"} if {
	ns := object.get(input.metadata, "namespace", "")
	defined := index.subsets
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	some j, dest in rule.route
	subset := dest.destination.subset
	host := lib.fqdn(dest.destination.host, ns)
	not defined[host][subset]
	field := sprintf("spec.%s[%d].route[%d].destination.subset", [protocol, i, j])
}

findings contains {"msg": missing(host, subset), "field": sprintf("spec.http[%d].mirror.subset", [i]), "code": "IST0101"} if {
	ns := object.get(input.metadata, "namespace", "")
	defined := index.subsets
	some i, rule in input.spec.http
	subset := rule.mirror.subset
	host := lib.fqdn(rule.mirror.host, ns)
	not defined[host][subset]
}

findings contains {"msg": missing(host, subset), "field": field, "code": "IST0101"} if {
	ns := object.get(input.metadata, "namespace", "")
	defined := index.subsets
	some i, rule in input.spec.http
	some j, mirror in rule.mirrors
	subset := mirror.destination.subset
	host := lib.fqdn(mirror.destination.host, ns)
	not defined[host][subset]
	field := sprintf("spec.http[%d].mirrors[%d].destination.subset", [i, j])
}

missing(host, subset) := sprintf("subset %s of host %s is not defined by %s", [subset, host, rules]) if {
	rules := concat(", ", sort(index.destination_rules[host]))
} else := sprintf("subset %s of host %s is not defined: no DestinationRule for the host", [subset, host])

# Package meshintent.subsets: every subset a VirtualService routes or mirrors
# to is defined by a DestinationRule for that host in the rendered set;
# otherwise the requests fail with 503 (no healthy upstream).
package meshintent.subsets

import data.meshintent.index
import data.meshintent.lib

deny contains {"msg": missing(host, subset), "field": field} if {
	input.kind == "VirtualService"
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

deny contains {"msg": missing(host, subset), "field": sprintf("spec.http[%d].mirror.subset", [i])} if {
	input.kind == "VirtualService"
	ns := object.get(input.metadata, "namespace", "")
	defined := index.subsets
	some i, rule in input.spec.http
	subset := rule.mirror.subset
	host := lib.fqdn(rule.mirror.host, ns)
	not defined[host][subset]
}

deny contains {"msg": missing(host, subset), "field": field} if {
	input.kind == "VirtualService"
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

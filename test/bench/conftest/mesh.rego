# The three mesh rules a team would script with conftest today, over
# `kubectl kustomize | conftest test --combine`: the same checks as
# meshintent's meshintent.weights, meshintent.subsets and
# meshintent.wildcardhosts built-ins.
package main

import rego.v1

# Route weights sum to 100.
deny contains msg if {
	some doc in input
	doc.contents.kind == "VirtualService"
	some i, rule in doc.contents.spec.http
	count(rule.route) > 1
	total := sum([d.weight | some d in rule.route])
	total != 100
	msg := sprintf("%s: http[%d] weights sum to %d", [doc.contents.metadata.name, i, total])
}

# Every subset routed to exists in a DestinationRule for that host.
#
# defined is a complete rule: OPA computes it once per query and a lookup
# is a hash probe, so the check is linear in the objects, as meshintent's
# index is. (A partial rule `subsets[host] contains name`, looked up with a
# ground host, scans every document per lookup: quadratic.)
defined := {[doc.contents.spec.host, s.name] |
	some doc in input
	doc.contents.kind == "DestinationRule"
	some s in doc.contents.spec.subsets
}

deny contains msg if {
	some doc in input
	doc.contents.kind == "VirtualService"
	some rule in doc.contents.spec.http
	some d in rule.route
	d.destination.subset
	not defined[[d.destination.host, d.destination.subset]]
	msg := sprintf("%s: subset %s of %s is not defined", [doc.contents.metadata.name, d.destination.subset, d.destination.host])
}

# No wildcard hosts.
deny contains msg if {
	some doc in input
	doc.contents.kind == "VirtualService"
	some h in doc.contents.spec.hosts
	h == "*"
	msg := sprintf("%s: wildcard host", [doc.contents.metadata.name])
}

# Package meshintent.jwtclaims: a VirtualService that routes on JWT claims
# (a match on header "@request.auth.claims.<claim>", in headers or
# withoutHeaders) through a gateway has a RequestAuthentication for that
# gateway's workload, Istio's JwtClaimBasedRoutingWithoutRequestAuthN
# (IST0149): without one no claim is ever set and the route never matches.
#
# Offline, the gateway's pods are unknown: a Gateway of the set with a
# selector counts as authenticated when a RequestAuthentication of the set
# selects a subset of that selector's labels (in any namespace, the pods'
# being unknown), or selects every workload of the root namespace
# (data.meshintent.config.rootNamespace, by default istio-system) or of the Gateway's.
# A Gateway outside the set, or without selector, is not checked.
#
# The severity is data.meshintent.config.severity["meshintent.jwtclaims"]
# (deny, as Istio's error level; "off" turns it off).
package meshintent.jwtclaims

import data.meshintent.index
import data.meshintent.lib
import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.jwtclaims"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.jwtclaims"] == "warn"
	some finding in findings
}

# findings are the gateways input, a VirtualService routing on JWT claims,
# is bound to without RequestAuthentication.
findings contains {"msg": msg, "field": sprintf("spec.gateways[%d]", [i]), "code": "IST0149"} if {
	some i, ref in input.spec.gateways
	ref != "mesh"
	ns := lib.namespace(input)
	gateway := hosts.gateway(ref, ns)
	gw := index.gateways[concat("/", gateway)]
	selector := object.get(gw, ["spec", "selector"], {})
	count(selector) > 0
	claims := {key |
		some rule in input.spec.http
		some entry in rule.match
		some conditions in ["headers", "withoutHeaders"]
		some key, _ in entry[conditions]
		startswith(key, "@request.auth.claims.")
	}
	count(claims) > 0
	not authenticated(gateway[0], selector)
	msg := sprintf("routes on the JWT claim %s through Gateway %s, but no RequestAuthentication selects its workload (%s): the claim is never set and the route never matches", [min(claims), concat("/", gateway), _labels(selector)])
}

# authenticated holds when a RequestAuthentication applies to the pods a
# Gateway of namespace gw_ns with selector selects.
authenticated(_, selector) if {
	some ra in index.request_authentications
	count(ra.labels) > 0
	every key, value in ra.labels {
		selector[key] == value
	}
}

authenticated(gw_ns, _) if {
	some ra in index.request_authentications
	count(ra.labels) == 0
	ra.namespace in {gw_ns, data.meshintent.config.rootNamespace}
}

_labels(selector) := concat(",", sort([sprintf("%s=%s", [k, v]) | some k, v in selector]))

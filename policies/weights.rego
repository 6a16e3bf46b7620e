# Package meshintent.weights: the weights of every route of a VirtualService
# sum to 100, or Istio rejects it. A route with a single destination and no
# weight is fine (it gets 100).
package meshintent.weights

deny contains {"msg": msg, "field": sprintf("spec.%s[%d].route", [protocol, i])} if {
	input.kind == "VirtualService"
	some protocol in ["http", "tcp", "tls"]
	some i, rule in input.spec[protocol]
	total := sum([object.get(dest, "weight", 0) | some dest in rule.route])
	total != 100

	# Not a single destination without weight (nor no destination at all):
	# destinations plus weights given exceed one.
	count(rule.route) + count([1 | some dest in rule.route; dest.weight]) > 1
	msg := sprintf("%s[%d] route weights sum to %v, not 100", [protocol, i, total])
}

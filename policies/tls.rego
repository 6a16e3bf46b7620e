# Package meshintent.tls warns when a DestinationRule turns TLS off: with mode
# DISABLE the sidecar sends plaintext even where the mesh would use mutual TLS.
# (No trafficPolicy.tls at all is fine: Istio then uses mutual TLS
# automatically.)
package meshintent.tls

warn contains {"msg": msg, "field": "spec.trafficPolicy.tls.mode"} if {
	input.kind == "DestinationRule"
	input.spec.trafficPolicy.tls.mode == "DISABLE"
	msg := sprintf("TLS mode DISABLE sends plaintext to %s", [input.spec.host])
}

warn contains {"msg": msg, "field": sprintf("spec.subsets[%d].trafficPolicy.tls.mode", [i])} if {
	input.kind == "DestinationRule"
	some i, subset in input.spec.subsets
	subset.trafficPolicy.tls.mode == "DISABLE"
	msg := sprintf("TLS mode DISABLE sends plaintext to subset %s of %s", [subset.name, input.spec.host])
}

package meshintent.tls

import data.meshintent.fixtures as f

test_allows_mutual_or_automatic_tls if {
	count(warn) == 0 with input as f.dr("bookinfo", "reviews", "reviews", ["v1"])
	count(warn) == 0 with input as object.union(f.dr("bookinfo", "reviews", "reviews", []), {"spec": {"trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}})
}

test_warns_when_tls_is_disabled if {
	dr := object.union(f.dr("bookinfo", "reviews", "reviews", []), {"spec": {"trafficPolicy": {"tls": {"mode": "DISABLE"}}}})
	warn == {{"msg": "TLS mode DISABLE sends plaintext to reviews", "field": "spec.trafficPolicy.tls.mode"}} with input as dr
}

test_warns_when_tls_is_disabled_for_a_subset if {
	dr := {"kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {
		"host": "reviews",
		"subsets": [{"name": "v1"}, {"name": "legacy", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}],
	}}
	warn == {{"msg": "TLS mode DISABLE sends plaintext to subset legacy of reviews", "field": "spec.subsets[1].trafficPolicy.tls.mode"}} with input as dr
}

package meshintent.destinationrules

import data.meshintent.fixtures as f

reviews := f.dr("bookinfo", "reviews", "reviews", ["v1", "v2"])

test_allows_one_destination_rule_per_host_and_namespace if {
	objects := [
		reviews,
		f.dr("other", "reviews", "reviews.bookinfo.svc.cluster.local", ["v1"]),
		object.union(f.dr("bookinfo", "pinned", "reviews", ["v3"]), {"spec": {"workloadSelector": {"matchLabels": {"app": "productpage"}}}}),
		object.union(f.dr("bookinfo", "local", "reviews", []), {"spec": {"exportTo": ["other"]}}),
	]
	count(warn) == 0 with input as object.union(reviews, {"spec": {"exportTo": ["."]}}) with data.meshintent.objects as objects
}

test_warns_about_two_destination_rules_for_one_host if {
	extra := f.dr("bookinfo", "reviews-tls", "reviews.bookinfo.svc.cluster.local", [])
	warn == {{
		"msg": "host reviews.bookinfo.svc.cluster.local also has DestinationRule/bookinfo/reviews-tls: Istio merges them in creation order, only the first one's traffic policy applies and a repeated subset is dropped; keep one DestinationRule per host",
		"field": "spec.host",
	}} with input as reviews
		with data.meshintent.objects as [reviews, extra]
}

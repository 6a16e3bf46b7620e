package meshintent.uniquehosts

import data.meshintent.fixtures as f

reviews := f.vs("bookinfo", "reviews", ["reviews"], [])

test_allows_one_virtual_service_per_host if {
	objects := [
		reviews,
		f.vs("other", "reviews", ["reviews"], []),
		object.union(f.vs("bookinfo", "edge", ["reviews"], []), {"spec": {"gateways": ["ingress"]}}),
	]
	count(deny) == 0 with input as reviews with data.meshintent.objects as objects
}

test_denies_a_second_virtual_service_for_the_host if {
	canary := f.vs("bookinfo", "reviews-canary", ["reviews.bookinfo.svc.cluster.local"], [])
	deny == {{
		"msg": "host reviews.bookinfo.svc.cluster.local is also routed by VirtualService/bookinfo/reviews-canary: keep one VirtualService per host",
		"field": "spec.hosts[0]",
	}} with input as reviews
		with data.meshintent.objects as [reviews, canary]
}

test_denies_a_duplicate_on_a_gateway if {
	edge := object.union(f.vs("bookinfo", "edge", ["bookinfo.example.com"], []), {"spec": {"gateways": ["ingress"]}})
	edge2 := object.union(f.vs("bookinfo", "edge2", ["bookinfo.example.com"], []), {"spec": {"gateways": ["ingress", "mesh"]}})
	deny == {{
		"msg": "host bookinfo.example.com on gateway ingress is also routed by VirtualService/bookinfo/edge2: keep one VirtualService per host",
		"field": "spec.hosts[0]",
	}} with input as edge
		with data.meshintent.objects as [edge, edge2]
}

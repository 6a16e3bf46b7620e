package meshintent.uniquehosts

import data.meshintent.fixtures as f

reviews := f.vs("bookinfo", "reviews", ["reviews"], [])

exported(vs, to) := object.union(vs, {"spec": {"exportTo": to}})

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
		"code": "IST0109",
	}} with input as reviews
		with data.meshintent.objects as [reviews, canary]
}

# The issue's case: ratings in foo and ratings.foo.svc.cluster.local in bar.
test_denies_the_same_host_spelt_differently_in_another_namespace if {
	foo := f.vs("foo", "ratings", ["ratings"], [])
	bar := f.vs("bar", "ratings", ["ratings.foo.svc.cluster.local"], [])
	deny == {{
		"msg": "host ratings.foo.svc.cluster.local is also routed by VirtualService/bar/ratings: keep one VirtualService per host",
		"field": "spec.hosts[0]",
		"code": "IST0109",
	}} with input as foo
		with data.meshintent.objects as [foo, bar]
	count(deny) == 1 with input as bar with data.meshintent.objects as [foo, bar]
}

test_allows_virtual_services_exported_to_different_namespaces if {
	foo := exported(f.vs("foo", "ratings", ["ratings"], []), ["."])
	bar := exported(f.vs("bar", "ratings", ["ratings.foo.svc.cluster.local"], []), ["."])
	count(deny) == 0 with input as foo with data.meshintent.objects as [foo, bar]
	count(deny) == 0 with input as bar with data.meshintent.objects as [foo, bar]
}

test_denies_virtual_services_exported_to_a_common_namespace if {
	foo := exported(f.vs("foo", "ratings", ["ratings"], []), [".", "bar"])
	bar := exported(f.vs("bar", "ratings", ["ratings.foo.svc.cluster.local"], []), ["."])
	count(deny) == 1 with input as foo with data.meshintent.objects as [foo, bar]
	count(deny) == 1 with input as bar with data.meshintent.objects as [foo, bar]
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

test_warns_when_configured_to if {
	canary := f.vs("bookinfo", "reviews-canary", ["reviews"], [])
	count(deny) == 0 with input as reviews
		with data.meshintent.objects as [reviews, canary]
		with data.meshintent.config.severity as {"meshintent.uniquehosts": "warn"}
	count(warn) == 1 with input as reviews
		with data.meshintent.objects as [reviews, canary]
		with data.meshintent.config.severity as {"meshintent.uniquehosts": "warn"}
}

package meshintent.weights

import data.meshintent.fixtures as f

test_allows_weights_summing_to_100 if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [{"route": [f.route("reviews", "v1", 90), f.route("reviews", "v2", 10)]}])
	count(deny) == 0 with input as vs
}

test_allows_a_single_destination_without_weight if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [{"route": [f.to("reviews", "v1")]}])
	count(deny) == 0 with input as vs
}

test_denies_weights_not_summing_to_100 if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		{"route": [f.to("reviews", "v1")]},
		{"route": [f.route("reviews", "v1", 80), f.route("reviews", "v2", 10)]},
	])
	deny == {{"msg": "http[1] route weights sum to 90, not 100", "field": "spec.http[1].route"}} with input as vs
}

test_denies_unweighted_destinations_among_several if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [{"route": [f.route("reviews", "v1", 50), f.to("reviews", "v2")]}])
	deny == {{"msg": "http[0] route weights sum to 50, not 100", "field": "spec.http[0].route"}} with input as vs
}

test_denies_tcp_routes_too if {
	vs := {"kind": "VirtualService", "metadata": {"name": "db", "namespace": "data"}, "spec": {"tcp": [{"route": [f.route("db", "a", 60)]}]}}
	deny == {{"msg": "tcp[0] route weights sum to 60, not 100", "field": "spec.tcp[0].route"}} with input as vs
}

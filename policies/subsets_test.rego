package meshintent.subsets

import data.meshintent.fixtures as f

vs := f.vs("bookinfo", "reviews", ["reviews"], [{
	"route": [f.route("reviews", "v1", 90), f.route("reviews.bookinfo.svc.cluster.local", "v2", 10)],
	"mirror": {"host": "reviews", "subset": "v3"},
}])

test_allows_subsets_defined_by_a_destination_rule if {
	objects := [vs, f.dr("bookinfo", "reviews", "reviews", ["v1", "v2", "v3"])]
	count(deny) == 0 with input as vs with data.meshintent.objects as objects
}

test_denies_a_subset_no_destination_rule_defines if {
	objects := [vs, f.dr("bookinfo", "reviews", "reviews", ["v1", "v2"])]
	deny == {{
		"msg": "subset v3 of host reviews.bookinfo.svc.cluster.local is not defined by DestinationRule/bookinfo/reviews",
		"field": "spec.http[0].mirror.subset",
		"code": "IST0101",
	}} with input as vs
		with data.meshintent.objects as objects
}

test_denies_subsets_of_a_host_without_destination_rule if {
	objects := [vs, f.dr("other", "reviews", "reviews", ["v1", "v2", "v3"])]
	count(deny) == 3 with input as vs with data.meshintent.objects as objects
	{
		"msg": "subset v1 of host reviews.bookinfo.svc.cluster.local is not defined: no DestinationRule for the host",
		"field": "spec.http[0].route[0].destination.subset",
		"code": "IST0101",
	} in deny with input as vs with data.meshintent.objects as objects
}

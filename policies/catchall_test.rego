package meshintent.catchall

import data.meshintent.fixtures as f

rule(match) := {"match": match, "route": [f.to("reviews", "v1")]}

test_allows_a_catch_all_last if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"headers": {"end-user": {"exact": "jason"}}}]),
		rule([{"uri": {"prefix": "/api"}}]),
		{"route": [f.to("reviews", "v1")]},
	])
	count(deny) == 0 with input as vs
}

test_denies_rules_after_a_rule_without_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		{"route": [f.to("reviews", "v1")]},
		rule([{"headers": {"end-user": {"exact": "jason"}}}]),
	])
	deny == {{"msg": "http[1] is unreachable: http[0] before it matches every request", "field": "spec.http[1]"}} with input as vs
}

test_denies_rules_after_a_prefix_slash_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"method": {"exact": "POST"}}]),
		rule([{"uri": {"exact": "/health"}}, {"name": "all", "uri": {"prefix": "/"}}]),
		rule([{"uri": {"prefix": "/api"}}]),
		rule([]),
	])
	deny == {
		{"msg": "http[2] is unreachable: http[1] before it matches every request", "field": "spec.http[2]"},
		{"msg": "http[3] is unreachable: http[1] before it matches every request", "field": "spec.http[3]"},
	} with input as vs
}

test_allows_a_prefix_slash_with_other_conditions if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"uri": {"prefix": "/"}, "headers": {"x-canary": {"exact": "1"}}}]),
		rule([{"uri": {"regex": "/v[0-9]+/.*"}}]),
	])
	count(deny) == 0 with input as vs
}

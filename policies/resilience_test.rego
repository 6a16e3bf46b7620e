package meshintent.resilience

import data.meshintent.fixtures as f

vs(rule) := f.vs("bookinfo", "reviews", ["reviews"], [object.union({"route": [f.to("reviews", "v1")]}, rule)])

test_allows_timeouts_and_retries_within_limits if {
	input_vs := vs({"timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "0.500s"}})
	count(deny) == 0 with input as input_vs
	count(warn) == 0 with input as input_vs
	count(deny) == 0 with input as vs({"timeout": "1m", "retries": {"attempts": 10}})
}

test_denies_a_timeout_above_the_maximum if {
	deny == {{"msg": "2m is above the maximum of 60s", "field": "spec.http[0].timeout"}} with input as vs({"timeout": "2m"})
}

test_denies_too_many_attempts_and_a_long_per_try_timeout if {
	deny == {
		{"msg": "11 retry attempts are above the maximum of 10", "field": "spec.http[0].retries.attempts"},
		{"msg": "45s is above the maximum of 30s", "field": "spec.http[0].retries.perTryTimeout"},
	} with input as vs({"retries": {"attempts": 11, "perTryTimeout": "45s"}})
}

test_limits_come_from_config if {
	count(deny) == 1 with input as vs({"timeout": "10s"}) with data.meshintent.config.timeout.max as "5s"
	count(deny) == 0 with input as vs({"retries": {"attempts": 11}}) with data.meshintent.config.retries.maxAttempts as 20
}

test_denies_a_value_that_is_not_a_duration if {
	deny == {{"msg": "5 seconds is not a duration such as \"5s\" or \"0.500s\"", "field": "spec.http[0].timeout"}} with input as vs({"timeout": "5 seconds"})
	deny == {{"msg": "5 is not a duration such as \"5s\" or \"0.500s\"", "field": "spec.http[0].retries.perTryTimeout"}} with input as vs({"retries": {"attempts": 2, "perTryTimeout": 5}})
}

test_warns_when_retries_outlast_the_timeout if {
	warn == {{
		"msg": "4 tries of up to 2s do not fit in the 5s timeout: the last retries never run",
		"field": "spec.http[0].retries",
	}} with input as vs({"timeout": "5s", "retries": {"attempts": 3, "perTryTimeout": "2s"}})
}

package team.tracing

test_allows_sampling_within_budget if {
	count(warn_sampling) == 0 with input as {"kind": "Telemetry", "spec": {"tracing": [{"randomSamplingPercentage": 5}]}}
}

test_warns_about_sampling_above_budget if {
	count(warn_sampling) == 1 with input as {"kind": "Telemetry", "spec": {"tracing": [{"randomSamplingPercentage": 50}]}}
}

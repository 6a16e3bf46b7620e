package bookinfo.team_test

import data.bookinfo.team

test_service_intent_without_team_is_denied if {
	count(team.deny) == 1 with input as {"kind": "ServiceIntent", "metadata": {"name": "reviews"}}
}

test_service_intent_with_team_passes if {
	count(team.deny) == 0 with input as {"kind": "ServiceIntent", "metadata": {"name": "reviews", "labels": {"team": "books"}}}
}

test_canary_over_half_warns if {
	vs := {"kind": "VirtualService", "metadata": {"name": "reviews", "namespace": "bookinfo"}, "spec": {"http": [{"route": [
		{"destination": {"host": "reviews", "subset": "v1"}, "weight": 40},
		{"destination": {"host": "reviews", "subset": "v3"}, "weight": 60},
	]}]}}
	count(team.warn) == 1 with input as vs
}

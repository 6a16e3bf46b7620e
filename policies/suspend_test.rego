package meshintent.suspend

import data.meshintent.fixtures as f

test_allows_a_suspension_with_a_reason if {
	intent := f.service_intent("bookinfo", "reviews", {"suspend": {"versions": ["v3"], "reason": "INC-42: v3 leaks memory"}})
	count(deny) == 0 with input as intent
	count(warn) == 0 with input as intent
	count(deny) == 0 with input as f.service_intent("bookinfo", "reviews", {})
}

test_denies_a_suspension_without_reason if {
	deny == {{"msg": "spec.suspend has no reason: say why the traffic is suspended", "field": "spec.suspend.reason"}} with input as f.service_intent("bookinfo", "reviews", {"suspend": {"versions": ["v3"]}})
	count(deny) == 1 with input as f.service_intent("bookinfo", "reviews", {"suspend": {"all": true, "reason": "  "}})
}

test_warns_when_all_traffic_is_suspended if {
	warn == {{"msg": "every request is aborted with HTTP 503 (maintenance)", "field": "spec.suspend.all"}} with input as f.service_intent("bookinfo", "reviews", {"suspend": {"all": true, "reason": "maintenance"}})
}

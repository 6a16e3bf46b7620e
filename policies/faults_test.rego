package meshintent.faults

import data.meshintent.fixtures as f

vs := f.vs("shop", "cart", ["cart"], [{"fault": {"abort": {"httpStatus": 500, "percentage": {"value": 10}}}, "route": [f.to("cart", "v1")]}])

intents(spec) := [f.entry(f.namespace_intent("shop", spec))]

test_allows_faults_outside_production if {
	count(deny) == 0 with input as vs with data.meshintent.intents as intents({"environment": "staging"})
	count(deny) == 0 with input as vs with data.meshintent.intents as []
}

test_allows_faults_in_production_when_allowed if {
	count(deny) == 0 with input as vs with data.meshintent.intents as intents({"environment": "production", "allowFaultInjection": true})
	count(deny) == 0 with input as vs
		with data.meshintent.intents as intents({"environment": "production"})
		with data.meshintent.config.faultInjection.allowNamespaces as ["shop"]
}

test_allows_the_abort_of_a_suspension_in_production if {
	suspended := object.union(vs, {"metadata": {"annotations": {"meshintent.io/intent": "ServiceIntent/shop/cart"}}})
	suspension := f.service_intent("shop", "cart", {"suspend": {"all": true, "reason": "INC-7"}})
	entries := array.concat(intents({"environment": "production"}), [f.entry(suspension)])
	count(deny) == 0 with input as suspended with data.meshintent.intents as entries
	count(deny) == 1 with input as suspended with data.meshintent.intents as intents({"environment": "production"})
}

test_denies_faults_in_production if {
	deny == {{
		"msg": "http[0] injects faults in production namespace shop: set spec.allowFaultInjection on NamespaceIntent/shop to allow it",
		"field": "spec.http[0].fault",
	}} with input as vs
		with data.meshintent.intents as intents({"environment": "production"})
}

test_denies_faults_in_namespaces_production_by_config if {
	count(deny) == 1 with input as vs
		with data.meshintent.intents as intents({"environment": "prod-eu"})
		with data.meshintent.config.production.environments as ["prod-eu"]
	count(deny) == 1 with input as vs with data.meshintent.config.production.namespaces as ["shop"]
	count(deny) == 1 with input as vs
		with data.meshintent.objects as [f.namespace("shop", {"env": "prod"})]
		with data.meshintent.config.production.labels as {"env": "prod"}
}

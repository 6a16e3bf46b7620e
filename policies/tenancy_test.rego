package meshintent.tenancy

import data.meshintent.fixtures as f

fence := {"meshintent": {"config": {"allowedNamespaces": ["shop"]}}}

test_allows_everything_without_a_fence if {
	count(deny) == 0 with input as f.service_intent("bookinfo", "reviews", {})
}

test_allows_intents_and_objects_inside_the_fence if {
	count(deny) == 0 with input as f.service_intent("shop", "cart", {}) with data.meshintent.config as fence.meshintent.config
	count(deny) == 0 with input as {"kind": "NamespaceIntent", "metadata": {"name": "shop"}} with data.meshintent.config as fence.meshintent.config
}

test_denies_a_service_intent_outside_the_fence if {
	deny == {{"msg": "namespace \"bookinfo\" is outside the allowed namespaces [\"shop\"]", "field": "metadata.namespace"}} with input as f.service_intent("bookinfo", "reviews", {}) with data.meshintent.config as fence.meshintent.config
}

test_denies_a_namespace_outside_the_fence if {
	count(deny) == 1 with input as {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "kube-system"}} with data.meshintent.config as fence.meshintent.config
	count(deny) == 1 with input as {"kind": "NamespaceIntent", "metadata": {"name": "kube-system"}} with data.meshintent.config as fence.meshintent.config
}

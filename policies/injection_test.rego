package meshintent.injection

import data.meshintent.fixtures as f

test_allows_one_way_into_the_mesh if {
	count(deny) == 0 with input as f.namespace("a", {"istio-injection": "enabled"})
	count(deny) == 0 with input as f.namespace("b", {"istio.io/rev": "1-24"})
	count(deny) == 0 with input as f.namespace("c", {"istio.io/dataplane-mode": "ambient"})
	count(deny) == 0 with input as f.namespace("d", {"istio-injection": "disabled", "istio.io/dataplane-mode": "ambient"})
	count(deny) == 0 with input as {"kind": "Namespace", "metadata": {"name": "e"}}
}

test_denies_injection_and_revision if {
	deny == {{
		"msg": "namespace has both istio-injection=enabled and istio.io/rev=1-24: keep one",
		"field": "metadata.labels",
	}} with input as f.namespace("a", {"istio-injection": "enabled", "istio.io/rev": "1-24"})
}

test_denies_sidecar_and_ambient if {
	deny == {{
		"msg": "namespace has both istio.io/rev=canary and istio.io/dataplane-mode=ambient: choose sidecar or ambient",
		"field": "metadata.labels",
	}} with input as f.namespace("a", {"istio.io/rev": "canary", "istio.io/dataplane-mode": "ambient"})
	count(deny) == 1 with input as f.namespace("b", {"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"})
}

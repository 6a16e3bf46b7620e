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

# claims_config is a fence to bookinfo with one shared gateway and two external hosts.
claims_config := {
	"allowedNamespaces": ["bookinfo"],
	"sharedGateways": ["istio-system/shared"],
	"allowedExternalHosts": ["api.stripe.com", "*.googleapis.com"],
}

obj(kind, spec) := {"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": {"name": "x", "namespace": "bookinfo"}, "spec": spec}

fields(spec_kind, spec) := got if {
	got := {d.field | some d in deny} with input as obj(spec_kind, spec) with data.meshintent.config as claims_config
}

test_allows_own_hosts_gateways_and_listed_claims if {
	count(deny) == 0 with input as obj("VirtualService", {
		"hosts": ["reviews", "reviews.bookinfo.svc.cluster.local", "*.bookinfo.svc.cluster.local", "api.stripe.com", "storage.googleapis.com"],
		"gateways": ["mesh", "bookinfo-gw", "bookinfo/gw", "istio-system/shared"],
		"http": [{"match": [{"gateways": ["mesh"]}], "route": [{"destination": {"host": "ratings"}}], "mirror": {"host": "reviews"}}],
		"exportTo": [".", "bookinfo", "~"],
	})
		with data.meshintent.config as claims_config
	count(deny) == 0 with input as obj("DestinationRule", {"host": "reviews", "exportTo": ["."]}) with data.meshintent.config as claims_config
	count(deny) == 0 with input as obj("ServiceEntry", {"hosts": ["api.stripe.com"], "exportTo": ["*"]}) with data.meshintent.config as claims_config
	count(deny) == 0 with input as obj("ServiceEntry", {"hosts": ["internal.example.com"], "exportTo": ["."]}) with data.meshintent.config as claims_config
	count(deny) == 0 with input as obj("Sidecar", {"egress": [{"hosts": ["./*", "bookinfo/*", "*/api.stripe.com", "~/*"]}]}) with data.meshintent.config as claims_config
}

test_allows_any_claim_without_a_fence if {
	count(deny) == 0 with input as obj("VirtualService", {"hosts": ["payments.payments.svc.cluster.local"], "gateways": ["istio-system/ingressgateway"], "exportTo": ["*"]})
}

test_denies_another_namespaces_host if {
	fields("VirtualService", {"hosts": ["payments.payments.svc.cluster.local"]}) == {"spec.hosts[0]"}
	fields("VirtualService", {"hosts": ["payments.payments"]}) == {"spec.hosts[0]"}
	fields("VirtualService", {"hosts": ["PAYMENTS.payments.svc.cluster.local"]}) == {"spec.hosts[0]"}
	deny == {{"field": "spec.hosts[0]", "msg": "host \"payments.payments.svc.cluster.local\" is a service of namespace \"payments\", outside the allowed namespaces"}} with input as obj("VirtualService", {"hosts": ["payments.payments.svc.cluster.local"]}) with data.meshintent.config as claims_config
}

test_denies_route_and_mirror_destinations_outside if {
	fields("VirtualService", {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}, {"destination": {"host": "payments.payments.svc.cluster.local"}}], "mirror": {"host": "evil.example.com"}, "mirrors": [{"destination": {"host": "ledger.payments.svc"}}]}]}) == {"spec.http[0].route[1].destination.host", "spec.http[0].mirror.host", "spec.http[0].mirrors[0].destination.host"}
	fields("VirtualService", {"hosts": ["reviews"], "tcp": [{"route": [{"destination": {"host": "db.payments.svc.cluster.local"}}]}]}) == {"spec.tcp[0].route[0].destination.host"}
}

test_denies_wildcard_and_unlisted_external_hosts if {
	fields("VirtualService", {"hosts": ["*"]}) == {"spec.hosts[0]"}
	fields("VirtualService", {"hosts": ["*.svc.cluster.local"]}) == {"spec.hosts[0]"}
	fields("VirtualService", {"hosts": ["*.stripe.com"]}) == {"spec.hosts[0]"}
	fields("DestinationRule", {"host": "example.com"}) == {"spec.host"}
	fields("DestinationRule", {"host": "payments.payments.svc.cluster.local"}) == {"spec.host"}
}

test_denies_gateways_outside if {
	fields("VirtualService", {"hosts": ["reviews"], "gateways": ["istio-system/ingressgateway"]}) == {"spec.gateways[0]"}
	fields("VirtualService", {"hosts": ["reviews"], "gateways": ["ingressgateway.istio-system.svc.cluster.local"]}) == {"spec.gateways[0]"}
	fields("VirtualService", {"hosts": ["reviews"], "http": [{"match": [{"gateways": ["istio-system/ingressgateway"]}]}]}) == {"spec.http[0].match[0].gateways[0]"}
	deny == {{"field": "spec.gateways[0]", "msg": "gateway \"istio-system/ingressgateway\" is in namespace \"istio-system\", outside the allowed namespaces and not in sharedGateways"}} with input as obj("VirtualService", {"hosts": ["reviews"], "gateways": ["istio-system/ingressgateway"]}) with data.meshintent.config as claims_config
}

test_denies_service_entries_taking_over_hosts if {
	fields("ServiceEntry", {"hosts": ["api.paypal.com"]}) == {"spec.hosts[0]"}
	fields("ServiceEntry", {"hosts": ["api.paypal.com"], "exportTo": ["*"]}) == {"spec.hosts[0]", "spec.exportTo[0]"}
	fields("ServiceEntry", {"hosts": ["api.paypal.com"], "exportTo": [".", "payments"]}) == {"spec.hosts[0]", "spec.exportTo[1]"}
}

test_denies_export_beyond_the_fence if {
	fields("DestinationRule", {"host": "reviews", "exportTo": ["*"]}) == {"spec.exportTo[0]"}
	fields("VirtualService", {"hosts": ["reviews"], "exportTo": [".", "payments"]}) == {"spec.exportTo[1]"}
	deny == {{"field": "spec.exportTo[0]", "msg": "exportTo \"*\" reaches beyond the allowed namespaces"}} with input as obj("DestinationRule", {"host": "reviews", "exportTo": ["*"]}) with data.meshintent.config as claims_config
}

test_denies_sidecar_egress_outside if {
	fields("Sidecar", {"egress": [{"hosts": ["*/*", "istio-system/*", "./*", "payments/api.paypal.com"]}]}) == {"spec.egress[0].hosts[0]", "spec.egress[0].hosts[1]", "spec.egress[0].hosts[3]"}
}

test_denies_everything_when_the_fence_is_closed if {
	count(deny) == 1 with input as f.service_intent("bookinfo", "reviews", {}) with data.meshintent.config as {"allowedNamespaces": [], "fenced": true}
}

test_does_not_check_claims_of_objects_outside if {
	deny == {{"field": "metadata.namespace", "msg": "namespace \"payments\" is outside the allowed namespaces [\"bookinfo\"]"}} with input as {"kind": "VirtualService", "metadata": {"name": "x", "namespace": "payments"}, "spec": {"hosts": ["payments"], "gateways": ["istio-system/ingressgateway"]}} with data.meshintent.config as claims_config
}

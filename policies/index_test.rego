package meshintent.index

import data.meshintent.fixtures as f

fixture_objects := [
	f.namespace("bookinfo", {"istio-injection": "enabled"}),
	f.dr("bookinfo", "reviews", "reviews", ["v1", "v2"]),
	f.dr("bookinfo", "reviews-extra", "reviews.bookinfo.svc.cluster.local", ["v3"]),
	f.vs("bookinfo", "reviews", ["reviews"], []),
	object.union(f.vs("bookinfo", "edge", ["bookinfo.example.com", "reviews"], []), {"spec": {"gateways": ["ingress", "mesh"]}}),
]

test_lookups if {
	namespaces.bookinfo.kind == "Namespace" with data.meshintent.objects as fixture_objects
	destination_rules == {"reviews.bookinfo.svc.cluster.local": {"DestinationRule/bookinfo/reviews", "DestinationRule/bookinfo/reviews-extra"}} with data.meshintent.objects as fixture_objects
	subsets == {"reviews.bookinfo.svc.cluster.local": {"v1", "v2", "v3"}} with data.meshintent.objects as fixture_objects
	virtual_services == {
		"reviews.bookinfo.svc.cluster.local": {
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/reviews", "exportTo": []},
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/edge", "exportTo": []},
			{"namespace": "bookinfo", "gateway": "ingress", "id": "VirtualService/bookinfo/edge", "exportTo": []},
		},
		"bookinfo.example.com": {
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/edge", "exportTo": []},
			{"namespace": "bookinfo", "gateway": "ingress", "id": "VirtualService/bookinfo/edge", "exportTo": []},
		},
	} with data.meshintent.objects as fixture_objects
}

test_intents if {
	ns := f.entry(f.namespace_intent("bookinfo", {"dataplane": "sidecar", "environment": "production"}))
	svc := f.entry(f.service_intent("bookinfo", "reviews", {}))
	namespace_intents == {"bookinfo": ns} with data.meshintent.intents as [ns, svc]
	intents == {"NamespaceIntent/bookinfo": ns, "ServiceIntent/bookinfo/reviews": svc} with data.meshintent.intents as [ns, svc]
}

analyzer_objects := [
	f.namespace("bookinfo", {}),
	{"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "edge"}, "spec": {"selector": {"istio": "ingressgateway"}}},
	{"apiVersion": "security.istio.io/v1", "kind": "RequestAuthentication", "metadata": {"name": "jwt", "namespace": "istio-system"}, "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}}}},
	{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "db", "namespace": "bookinfo"}, "spec": {"hosts": ["db.example.com"], "exportTo": ["."], "ports": [{"number": 5432, "protocol": "TCP"}, {"number": 80}]}},
	{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ratings", "namespace": "bookinfo"}, "spec": {"ports": [{"port": 9080}]}},
	{"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": {"name": "default", "namespace": "bookinfo"}, "spec": {}},
	{"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry", "metadata": {"name": "t", "namespace": "bookinfo"}, "spec": {"selector": {"matchLabels": {"app": "ratings"}}}},
	{"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry", "metadata": {"name": "gw", "namespace": "bookinfo"}, "spec": {"targetRefs": [{"kind": "Gateway", "name": "gw"}]}},
	f.dr("bookinfo", "reviews", "reviews", ["v1"]),
	object.union(f.dr("bookinfo", "reviews-pinned", "reviews", ["v2"]), {"spec": {"workloadSelector": {"matchLabels": {"app": "x"}}}}),
]

test_analyzer_lookups if {
	gateways["edge/gw"].spec.selector == {"istio": "ingressgateway"} with data.meshintent.objects as analyzer_objects
	owned_namespaces == {"bookinfo", "edge"} with data.meshintent.objects as analyzer_objects with data.meshintent.intents as []
	request_authentications == [{"id": "RequestAuthentication/istio-system/jwt", "namespace": "istio-system", "labels": {"istio": "ingressgateway"}}] with data.meshintent.objects as analyzer_objects
	service_ports == {
		"db.example.com": {{"id": "ServiceEntry/bookinfo/db", "namespace": "bookinfo", "scopes": {"bookinfo"}, "ports": {5432, 80}}},
		"ratings.bookinfo.svc.cluster.local": {{"id": "Service/bookinfo/ratings", "namespace": "bookinfo", "scopes": {"*"}, "ports": {9080}}},
	} with data.meshintent.objects as analyzer_objects
	service_entry_protocols == {
		"db.example.com:5432": {{"id": "ServiceEntry/bookinfo/db", "scopes": {"bookinfo"}, "protocol": "TCP"}},
		"db.example.com:80": {{"id": "ServiceEntry/bookinfo/db", "scopes": {"bookinfo"}, "protocol": ""}},
	} with data.meshintent.objects as analyzer_objects
	merges := destination_rule_merges with data.meshintent.objects as analyzer_objects
	object.keys(merges) == {"reviews.bookinfo.svc.cluster.local"}
	[merged] := [d | some d in merges["reviews.bookinfo.svc.cluster.local"]]
	merged.id == "DestinationRule/bookinfo/reviews"
	merged.scopes == {"*"}
	selectors == {
		"Sidecar/bookinfo": {{"id": "Sidecar/bookinfo/default", "labels": null}},
		"Telemetry/bookinfo": {{"id": "Telemetry/bookinfo/t", "labels": {"app": "ratings"}}},
	} with data.meshintent.objects as analyzer_objects
}

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
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/reviews"},
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/edge"},
			{"namespace": "bookinfo", "gateway": "ingress", "id": "VirtualService/bookinfo/edge"},
		},
		"bookinfo.example.com": {
			{"namespace": "bookinfo", "gateway": "mesh", "id": "VirtualService/bookinfo/edge"},
			{"namespace": "bookinfo", "gateway": "ingress", "id": "VirtualService/bookinfo/edge"},
		},
	} with data.meshintent.objects as fixture_objects
}

test_intents if {
	ns := f.entry(f.namespace_intent("bookinfo", {"dataplane": "sidecar", "environment": "production"}))
	svc := f.entry(f.service_intent("bookinfo", "reviews", {}))
	namespace_intents == {"bookinfo": ns} with data.meshintent.intents as [ns, svc]
	intents == {"NamespaceIntent/bookinfo": ns, "ServiceIntent/bookinfo/reviews": svc} with data.meshintent.intents as [ns, svc]
}

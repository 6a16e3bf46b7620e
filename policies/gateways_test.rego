package meshintent.gateways

import data.meshintent.fixtures as f

gateway(ns, name) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "Gateway",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]},
}

bound(vs, gateways) := object.union(vs, {"spec": {"gateways": gateways}})

test_allows_gateways_of_the_set_and_outside_it if {
	vs := bound(f.vs("bookinfo", "edge", ["bookinfo.example.com"], []), ["bookinfo-gateway", "edge/public", "istio-system/ingressgateway", "mesh"])
	objects := [f.namespace("bookinfo", {}), gateway("bookinfo", "bookinfo-gateway"), gateway("edge", "public"), vs]
	count(deny) == 0 with input as vs with data.meshintent.objects as objects with data.meshintent.intents as []
}

test_denies_a_missing_gateway_of_a_namespace_the_repository_holds if {
	vs := bound(f.vs("bookinfo", "edge", ["bookinfo.example.com"], []), ["bookinfo-gateway", "edge/private"])
	objects := [f.namespace("bookinfo", {}), gateway("edge", "public"), vs]
	deny == {
		{"msg": "gateway bookinfo-gateway is not defined: no Gateway bookinfo-gateway in namespace bookinfo, which the repository holds", "field": "spec.gateways[0]", "code": "IST0101"},
		{"msg": "gateway edge/private is not defined: no Gateway private in namespace edge, which the repository holds", "field": "spec.gateways[1]", "code": "IST0101"},
	} with input as vs
		with data.meshintent.objects as objects
		with data.meshintent.intents as []
}

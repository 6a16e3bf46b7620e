package meshintent.gatewayhosts

import data.meshintent.fixtures as f

gateway(ns, name, server_hosts) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "Gateway",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": server_hosts}]},
}

bound(vs, gateways) := object.union(vs, {"spec": {"gateways": gateways}})

objects := [
	gateway("edge", "public", ["*.example.com", "bookinfo/reviews.internal"]),
	gateway("edge", "local", ["./local.example.org"]),
	gateway("edge", "all", ["*"]),
	{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "k8s", "namespace": "edge"}, "spec": {"listeners": [{"name": "http", "hostname": "*.example.net"}]}},
]

test_allows_hosts_the_gateways_accept if {
	every vs in [
		bound(f.vs("bookinfo", "a", ["bookinfo.example.com"], []), ["edge/public", "edge/all", "mesh"]),
		bound(f.vs("bookinfo", "b", ["reviews.internal"], []), ["edge/public"]),
		bound(f.vs("edge", "c", ["local.example.org"], []), ["local"]),
		bound(f.vs("bookinfo", "d", ["www.example.net"], []), ["edge/k8s"]),
		bound(f.vs("bookinfo", "e", ["anything"], []), ["edge/missing"]),
	] {
		count(warn) == 0 with input as vs with data.meshintent.objects as objects
	}
}

test_warns_about_hosts_no_server_accepts if {
	vs := bound(f.vs("other", "a", ["reviews.internal", "bookinfo.example.org"], []), ["edge/public", "edge/all"])
	warn == {{
		"msg": "Gateway edge/public accepts none of the hosts reviews.internal, bookinfo.example.org of namespace other: the gateway does not route them",
		"field": "spec.gateways[0]",
		"code": "IST0132",
	}} with input as vs
		with data.meshintent.objects as objects
}

test_warns_about_a_dot_host_from_another_namespace if {
	vs := bound(f.vs("bookinfo", "c", ["local.example.org"], []), ["edge/local", "edge/k8s"])
	count(warn) == 2 with input as vs with data.meshintent.objects as objects
}

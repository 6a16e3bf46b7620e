package meshintent.destinationports

import data.meshintent.fixtures as f

entry(ns, name, hosts, ports, export_to) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "ServiceEntry",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"hosts": hosts, "exportTo": export_to, "ports": [{"number": p, "name": sprintf("p%d", [p]), "protocol": "HTTP"} | some p in ports]},
}

service(ns, name, ports) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"ports": [{"port": p, "name": sprintf("p%d", [p])} | some p in ports]},
}

port_to(host, number) := {"destination": {"host": host, "port": {"number": number}}}

objects := [
	entry("bookinfo", "api", ["api.example.com"], [80, 443], ["*"]),
	entry("other", "private", ["private.example.com"], [80, 8080], ["."]),
	service("bookinfo", "ratings", [9080, 9090]),
	service("bookinfo", "details", [9080]),
]

test_allows_destinations_with_ports_or_single_port_hosts if {
	vs := f.vs("bookinfo", "a", ["a"], [
		{"route": [port_to("api.example.com", 443), {"destination": {"host": "details"}}, port_to("ratings", 9090)]},
		{"route": [{"destination": {"host": "private.example.com"}}]},
		{"route": [{"destination": {"host": "unknown.example.com"}}, port_to("reviews", 1)]},
	])
	count(deny) == 0 with input as vs with data.meshintent.objects as objects
}

test_denies_a_destination_without_port_on_a_multi_port_host if {
	vs := f.vs("bookinfo", "a", ["a"], [{"route": [{"destination": {"host": "ratings"}}], "mirror": {"host": "api.example.com"}}])
	deny == {
		{"msg": "destination ratings has no port and the host has several (9080, 9090): set port.number", "field": "spec.http[0].route[0].destination", "code": "IST0112"},
		{"msg": "destination api.example.com has no port and the host has several (80, 443): set port.number", "field": "spec.http[0].mirror", "code": "IST0112"},
	} with input as vs
		with data.meshintent.objects as objects
}

test_denies_a_port_the_host_does_not_have if {
	vs := f.vs("bookinfo", "a", ["a"], [{"route": [port_to("details.bookinfo.svc.cluster.local", 8080)]}])
	deny == {{
		"msg": "port 8080 of host details.bookinfo.svc.cluster.local is not defined: the host has 9080",
		"field": "spec.http[0].route[0].destination.port.number",
		"code": "IST0101",
	}} with input as vs
		with data.meshintent.objects as objects
}

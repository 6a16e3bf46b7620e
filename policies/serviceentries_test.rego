package meshintent.serviceentries

entry(ns, name, hosts, ports, extra) := object.union(
	{
		"apiVersion": "networking.istio.io/v1",
		"kind": "ServiceEntry",
		"metadata": {"name": name, "namespace": ns},
		"spec": {"hosts": hosts, "ports": ports, "resolution": "DNS"},
	},
	extra,
)

https := {"number": 443, "name": "https", "protocol": "TLS"}

tcp := {"number": 5432, "name": "db", "protocol": "TCP"}

test_allows_entries_with_addresses_or_without_tcp if {
	every se in [
		entry("bookinfo", "api", ["api.example.com"], [https], {}),
		entry("bookinfo", "db", ["db.example.com"], [tcp], {"spec": {"addresses": ["10.0.0.5"]}}),
	] {
		count(warn) == 0 with input as se with data.meshintent.objects as [se]
	}
	se := entry("bookinfo", "db", ["db.example.com"], [tcp], {})
	count(warn) == 0 with input as se
		with data.meshintent.objects as [se]
		with data.meshintent.config.serviceEntries.addressAutoAllocation as true
}

test_warns_about_tcp_without_addresses if {
	se := entry("bookinfo", "db", ["db.example.com"], [https, {"number": 6379, "name": "redis"}], {})
	warn == {{
		"msg": "port 6379 serves TCP but the ServiceEntry has no addresses: set spec.addresses, or the sidecars cannot tell its traffic from other TCP traffic on that port",
		"field": "spec.ports[1]",
		"code": "IST0134",
	}} with input as se
		with data.meshintent.objects as [se]
}

test_warns_about_conflicting_protocols if {
	a := entry("bookinfo", "api", ["api.example.com"], [https], {})
	b := entry("other", "api", ["api.example.com"], [{"number": 443, "name": "https", "protocol": "HTTPS"}], {"spec": {"exportTo": ["bookinfo"]}})
	warn == {{
		"msg": "port 443 of host api.example.com is TLS here but has another protocol in ServiceEntry/other/api: Istio uses one of them",
		"field": "spec.ports[0].protocol",
		"code": "IST0177",
	}} with input as a
		with data.meshintent.objects as [a, b]
}

test_allows_protocols_in_namespaces_that_do_not_meet if {
	a := entry("bookinfo", "api", ["api.example.com"], [https], {"spec": {"exportTo": ["."]}})
	b := entry("other", "api", ["api.example.com"], [{"number": 443, "name": "https", "protocol": "HTTPS"}], {"spec": {"exportTo": ["."]}})
	count(warn) == 0 with input as a with data.meshintent.objects as [a, b]
}

package meshintent.catchall

import data.meshintent.fixtures as f

rule(match) := {"match": match, "route": [f.to("reviews", "v1")]}

jason := {"headers": {"end-user": {"exact": "jason"}}}

tls_vs(rules) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "VirtualService",
	"metadata": {"name": "tls", "namespace": "edge"},
	"spec": {"hosts": ["*.example.com"], "tls": rules},
}

test_allows_a_catch_all_last if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([jason]),
		rule([{"uri": {"prefix": "/api"}}]),
		{"route": [f.to("reviews", "v1")]},
	])
	count(warn) == 0 with input as vs
	count(deny) == 0 with input as vs
}

test_warns_about_rules_after_a_rule_without_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		{"route": [f.to("reviews", "v1")]},
		rule([jason]),
	])
	warn == {{"msg": "http[1] is unreachable: http[0] before it matches every request", "field": "spec.http[1]", "code": "IST0130"}} with input as vs
}

test_denies_when_configured_to if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [{"route": [f.to("reviews", "v1")]}, rule([jason])])
	count(deny) == 1 with input as vs with data.meshintent.config.severity as {"meshintent.catchall": "deny"}
	count(warn) == 0 with input as vs with data.meshintent.config.severity as {"meshintent.catchall": "deny"}
}

test_warns_about_rules_after_a_prefix_slash_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"method": {"exact": "POST"}}]),
		rule([{"uri": {"exact": "/health"}}, {"name": "all", "uri": {"prefix": "/"}}]),
		rule([{"uri": {"prefix": "/api"}}]),
		rule([]),
	])
	warn == {
		{"msg": "http[2] is unreachable: http[1] before it matches every request", "field": "spec.http[2]", "code": "IST0130"},
		{"msg": "http[3] is unreachable: http[1] before it matches every request", "field": "spec.http[3]", "code": "IST0130"},
	} with input as vs
}

test_allows_a_prefix_slash_with_other_conditions if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"uri": {"prefix": "/"}, "headers": {"x-canary": {"exact": "1"}}}]),
		rule([{"uri": {"regex": "/v[0-9]+/.*"}}]),
	])
	count(warn) == 0 with input as vs
}

test_warns_about_a_rule_repeating_an_earlier_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([jason]),
		rule([object.union(jason, {"name": "again"})]),
		{"route": [f.to("reviews", "v1")]},
	])
	warn == {{"msg": "http[1] is unreachable: each of its matches is matched before by http[0]", "field": "spec.http[1]", "code": "IST0130"}} with input as vs
}

test_warns_about_an_ineffective_match if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"uri": {"prefix": "/api"}}]),
		rule([{"uri": {"prefix": "/api/v2"}, "headers": {"x": {"exact": "1"}}}, {"uri": {"prefix": "/static"}}]),
	])
	warn == {{"msg": "http[1].match[0] is never used: http[0].match[0] before it matches every request it matches", "field": "spec.http[1].match[0]", "code": "IST0131"}} with input as vs
}

test_allows_narrower_matches_first if {
	vs := f.vs("bookinfo", "reviews", ["reviews"], [
		rule([{"uri": {"prefix": "/api/v2"}}]),
		rule([{"uri": {"prefix": "/api"}}]),
		rule([object.union(jason, {"uri": {"prefix": "/"}})]),
		rule([{"uri": {"prefix": "/api"}, "ignoreUriCase": true}]),
		rule([{"headers": {"end-user": {"exact": "bob"}, "x": {"exact": "1"}}, "uri": {"prefix": "/b"}}]),
	])
	count(warn) == 0 with input as vs
}

test_warns_about_a_repeated_tcp_match if {
	vs := object.union(f.vs("bookinfo", "db", ["db"], []), {"spec": {"tcp": [
		{"match": [{"port": 5432}], "route": [f.to("db", "v1")]},
		{"match": [{"port": 5432}], "route": [f.to("db", "v2")]},
		{"route": [f.to("db", "v1")]},
		{"route": [f.to("db", "v2")]},
	]}})
	warn == {
		{"msg": "tcp[1] is unreachable: each of its matches is matched before by tcp[0]", "field": "spec.tcp[1]", "code": "IST0130"},
		{"msg": "tcp[3] is unreachable: tcp[2] before it matches every request", "field": "spec.tcp[3]", "code": "IST0130"},
	} with input as vs
}

test_warns_about_tls_routes_with_the_same_port_and_sni_hosts if {
	vs := tls_vs([
		{"match": [{"port": 443, "sniHosts": ["*.example.com"]}], "route": [f.to("a", "")]},
		{"match": [{"port": 443, "sniHosts": ["api.example.com"]}], "route": [f.to("b", "")]},
		{"match": [{"port": 443, "sniHosts": ["api.other.com"]}, {"port": 443, "sniHosts": ["www.example.com"]}], "route": [f.to("c", "")]},
	])
	warn == {
		{"msg": "tls[1] is unreachable: each of its matches is matched before by tls[0]", "field": "spec.tls[1]", "code": "IST0130"},
		{"msg": "tls[2].match[1] is never used: tls[0].match[0] before it matches every request it matches", "field": "spec.tls[2].match[1]", "code": "IST0131"},
	} with input as vs
}

test_allows_tls_routes_on_other_ports_or_hosts if {
	vs := tls_vs([
		{"match": [{"port": 443, "sniHosts": ["api.example.com"]}], "route": [f.to("a", "")]},
		{"match": [{"port": 8443, "sniHosts": ["api.example.com"]}], "route": [f.to("b", "")]},
		{"match": [{"sniHosts": ["*.example.com"]}], "route": [f.to("c", "")]},
	])
	count(warn) == 0 with input as vs
}

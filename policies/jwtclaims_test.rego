package meshintent.jwtclaims

import data.meshintent.fixtures as f

gateway := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "Gateway",
	"metadata": {"name": "public", "namespace": "edge"},
	"spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]},
}

request_authentication(ns, labels) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "RequestAuthentication",
	"metadata": {"name": "jwt", "namespace": ns},
	"spec": {"selector": {"matchLabels": labels}, "jwtRules": [{"issuer": "https://issuer.example.com"}]},
}

claim_route := object.union(
	f.vs("bookinfo", "edge", ["bookinfo.example.com"], [
		{"match": [{"headers": {"@request.auth.claims.groups": {"exact": "admin"}}}], "route": [f.to("reviews", "v2")]},
		{"route": [f.to("reviews", "v1")]},
	]),
	{"spec": {"gateways": ["edge/public"]}},
)

test_allows_claim_routes_with_request_authentication if {
	every ra in [
		request_authentication("istio-system", {"istio": "ingressgateway"}),
		request_authentication("edge", {}),
		request_authentication("istio-system", {}),
	] {
		count(deny) == 0 with input as claim_route with data.meshintent.objects as [gateway, ra, claim_route]
	}

	# A gateway outside the set is not checked.
	count(deny) == 0 with input as claim_route with data.meshintent.objects as [claim_route]
}

test_denies_claim_routes_without_request_authentication if {
	deny == {{
		"msg": "routes on the JWT claim @request.auth.claims.groups through Gateway edge/public, but no RequestAuthentication selects its workload (istio=ingressgateway): the claim is never set and the route never matches",
		"field": "spec.gateways[0]",
		"code": "IST0149",
	}} with input as claim_route
		with data.meshintent.objects as [gateway, request_authentication("bookinfo", {"app": "reviews"}), request_authentication("other", {}), claim_route]
}

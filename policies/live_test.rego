package meshintent.live

import data.meshintent.fixtures as f

# cluster is a live view: bookinfo's Services were read; reviews has two
# ports, ratings one; a ServiceEntry covers *.legacy.svc.cluster.local.
cluster := {
	"namespaces": {"bookinfo": true},
	"services": {
		"bookinfo/reviews": {"ports": [{"name": "http", "number": 9080}, {"name": "grpc", "number": 9090}]},
		"bookinfo/ratings": {"ports": [{"name": "http", "number": 9080}]},
	},
	"serviceEntryHosts": ["*.legacy.svc.cluster.local"],
	"gateways": {"istio-system/public": true, "istio-system/gone": false},
	"subsets": {"DestinationRule/bookinfo/reviews": {"v1": true, "v2": false}},
	"virtualServices": {"ratings.bookinfo.svc.cluster.local": [
		{"id": "VirtualService/legacy/ratings-old", "name": "legacy/ratings-old", "scopes": ["*"]},
		{"id": "VirtualService/team/ratings-local", "name": "team/ratings-local", "scopes": ["team"]},
	]},
}

ported(host, number) := {"destination": {"host": host, "port": {"number": number}}}

# Offline, what each check would report with the view is not reported.
test_allows_everything_without_a_live_view if {
	vs := object.union(
		f.vs("bookinfo", "ratings", ["ratings"], [{"route": [ported("ratingz", 9080), ported("reviews", 8080), f.to("reviews", "")]}]),
		{"spec": {"gateways": ["mesh", "istio-system/gone"]}},
	)
	count(deny) > 0 with input as vs with data.meshintent.cluster as cluster
	count(deny) == 0 with input as vs
	count(warn) == 0 with input as vs
	dr := f.dr("bookinfo", "reviews", "reviews", ["v2"])
	count(warn) > 0 with input as dr with data.meshintent.cluster as cluster
	count(warn) == 0 with input as dr
	count(deny) == 0 with input as dr
}

test_denies_a_route_to_a_service_that_does_not_exist if {
	vs := f.vs("bookinfo", "ratingz", ["ratingz"], [{
		"route": [ported("ratingz", 9080)],
		"mirror": {"host": "ratingz.bookinfo.svc.cluster.local"},
	}])
	deny == {
		{
			"msg": "Referenced host not found: \"ratingz\"",
			"field": "spec.http[0].route[0].destination.host",
			"code": "IST0101",
		},
		{
			"msg": "Referenced mirror host not found: \"ratingz.bookinfo.svc.cluster.local\"",
			"field": "spec.http[0].mirror.host",
			"code": "IST0101",
		},
	} with input as vs with data.meshintent.cluster as cluster
}

test_allows_hosts_the_checks_cannot_judge if {
	tests := [
		"ratings", # exists
		"api.stripe.com", # not a Service name: the ServiceEntry checks speak
		"ratings.other.svc.cluster.local", # a namespace not read
		"old.legacy.svc.cluster.local", # a ServiceEntry covers it
	]
	every host in tests {
		count(deny) == 0 with input as f.vs("bookinfo", "x", ["x"], [{"route": [ported(host, 9080)]}])
			with data.meshintent.cluster as cluster
	}
}

test_denies_unknown_or_ambiguous_ports if {
	tests := [
		{"route": ported("reviews", 9090), "want": set()},
		{"route": ported("ratings", 9080), "want": set()},
		{"route": f.to("ratings", ""), "want": set()},
		{"route": ported("reviews", 8080), "want": {{
			"msg": "Referenced host:port not found: \"reviews:8080\"",
			"field": "spec.http[0].route[0].destination.port.number",
			"code": "IST0101",
		}}},
		{"route": f.to("reviews", "v1"), "want": {{
			"msg": "This VirtualService routes to a service \"reviews\" that exposes multiple ports [9080 9090]. Specifying a port in the destination is required to disambiguate.",
			"field": "spec.http[0].route[0].destination",
			"code": "IST0112",
		}}},
	]
	every tt in tests {
		deny == tt.want with input as f.vs("bookinfo", "x", ["x"], [{"route": [tt.route]}])
			with data.meshintent.cluster as cluster
	}
}

test_denies_a_gateway_that_does_not_exist if {
	vs := object.union(f.vs("bookinfo", "x", ["x.example.com"], []), {"spec": {"gateways": [
		"istio-system/public",
		"mesh",
		"istio-system/gone",
	]}})
	deny == {{
		"msg": "Referenced gateway not found: \"istio-system/gone\"",
		"field": "spec.gateways[2]",
		"code": "IST0101",
	}} with input as vs with data.meshintent.cluster as cluster
}

test_denies_a_foreign_virtual_service_claiming_the_mesh_host if {
	vs := f.vs("bookinfo", "ratings", ["ratings"], [{"route": [f.to("ratings", "")]}])
	deny == {{
		"msg": "The VirtualServices bookinfo/ratings,legacy/ratings-old,team/ratings-local associated with mesh gateway define the same host ratings which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
		"field": "spec.hosts[0]",
		"code": "IST0109",
	}} with input as vs with data.meshintent.cluster as cluster
}

test_allows_the_host_on_a_gateway_or_in_a_disjoint_scope if {
	on_gateway := object.union(f.vs("bookinfo", "ratings", ["ratings"], []), {"spec": {"gateways": ["istio-system/public"]}})
	count(deny) == 0 with input as on_gateway with data.meshintent.cluster as cluster

	# exported to its own namespace: overlaps legacy's "*", not team's scope.
	scoped := object.union(f.vs("bookinfo", "ratings", ["ratings"], []), {"spec": {"exportTo": ["."]}})
	[r.code | some r in deny] == ["IST0109"] with input as scoped with data.meshintent.cluster as cluster
	not_legacy := object.union(cluster, {"virtualServices": {"ratings.bookinfo.svc.cluster.local": [{"id": "VirtualService/team/ratings-local", "name": "team/ratings-local", "scopes": ["team"]}]}})
	count(deny) == 0 with input as scoped with data.meshintent.cluster as not_legacy
}

test_warns_about_a_subset_that_selects_no_pod if {
	dr := f.dr("bookinfo", "reviews", "reviews", ["v1", "v2"])
	warn == {{
		"msg": "The Subset v2 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).",
		"field": "spec.subsets[1]",
		"code": "IST0173",
	}} with input as dr with data.meshintent.cluster as cluster
	count(deny) == 0 with input as dr with data.meshintent.cluster as cluster
}

test_severity_follows_the_config if {
	dr := f.dr("bookinfo", "reviews", "reviews", ["v2"])
	count(deny) == 1 with input as dr with data.meshintent.cluster as cluster
		with data.meshintent.config.severity as {"meshintent.live.subsets": "deny"}
	count(warn) == 0 with input as dr with data.meshintent.cluster as cluster
		with data.meshintent.config.severity as {"meshintent.live.subsets": "deny"}
	count(warn) == 0 with input as dr with data.meshintent.cluster as cluster
		with data.meshintent.config.severity as {"meshintent.live.subsets": "off"}
	count(deny) == 0 with input as dr with data.meshintent.cluster as cluster
		with data.meshintent.config.severity as {"meshintent.live.subsets": "off"}
}

package meshintent.lib

test_fqdn_completes_short_names if {
	fqdn("reviews", "bookinfo") == "reviews.bookinfo.svc.cluster.local"
	fqdn("reviews", "bookinfo") == "reviews.bookinfo.svc.example.org" with data.meshintent.config.clusterDomain as "example.org"
}

test_fqdn_keeps_names_with_dots_and_star if {
	fqdn("reviews.bookinfo", "other") == "reviews.bookinfo"
	fqdn("api.example.com", "bookinfo") == "api.example.com"
	fqdn("*", "bookinfo") == "*"
}

test_id if {
	id({"kind": "VirtualService", "metadata": {"name": "reviews", "namespace": "bookinfo"}}) == "VirtualService/bookinfo/reviews"
	id({"kind": "Namespace", "metadata": {"name": "bookinfo"}}) == "Namespace/bookinfo"
}

test_duration_ns if {
	duration_ns("5s") == 5000000000
	duration_ns("0.500s") == 500000000
	duration_ns("1m") == 60000000000
	not duration_ns("5 seconds")
}

test_gateways_default_to_mesh if {
	gateways({"spec": {}}) == ["mesh"]
	gateways({"spec": {"gateways": []}}) == ["mesh"]
	gateways({"spec": {"gateways": ["istio-system/ingress"]}}) == ["istio-system/ingress"]
}

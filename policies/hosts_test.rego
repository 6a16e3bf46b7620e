package meshintent.lib.hosts

test_resolve_completes_short_names_in_the_namespace if {
	resolve("reviews", "bookinfo", "cluster.local") == "reviews.bookinfo.svc.cluster.local"
	resolve("Reviews", "bookinfo", "cluster.local") == "reviews.bookinfo.svc.cluster.local"
	resolve("reviews", "", "cluster.local") == "reviews.svc.cluster.local"
	resolve("reviews", "bookinfo", "") == "reviews.bookinfo"
	fqdn("reviews", "bookinfo") == "reviews.bookinfo.svc.cluster.local"
	fqdn("reviews", "bookinfo") == "reviews.bookinfo.svc.example.org" with data.meshintent.config.clusterDomain as "example.org"
}

test_resolve_keeps_dotted_names_star_and_ipv6 if {
	resolve("reviews.bookinfo", "other", "cluster.local") == "reviews.bookinfo"
	resolve("API.Stripe.com", "bookinfo", "cluster.local") == "api.stripe.com"
	resolve("*", "bookinfo", "cluster.local") == "*"
	resolve("*.stripe.com", "bookinfo", "cluster.local") == "*.stripe.com"
	resolve("::1", "bookinfo", "cluster.local") == "::1"
	resolve("", "bookinfo", "cluster.local") == ""
}

test_namespace_of_service_names if {
	namespace_of("payments.payments.svc.cluster.local", "cluster.local") == "payments"
	namespace_of("payments.payments.svc", "cluster.local") == "payments"
	namespace_of("payments.payments", "cluster.local") == "payments"
	namespace_of("*.payments.svc.cluster.local", "cluster.local") == "payments"
	namespace_of("Payments.PAYMENTS.svc.Cluster.Local", "cluster.local") == "payments"
	namespace_of("a.b.svc.example.org", "example.org") == "b"
}

test_namespace_of_is_undefined_for_other_names if {
	not namespace_of("*", "cluster.local")
	not namespace_of("*.svc.cluster.local", "cluster.local")
	not namespace_of("*.cluster.local", "cluster.local")
	not namespace_of("*.payments", "cluster.local")
	not namespace_of("api.stripe.com", "cluster.local")
	not namespace_of("a.b.payments.svc.cluster.local", "cluster.local")
	not namespace_of("x.*.svc.cluster.local", "cluster.local")
	not namespace_of("payments.payments.svc.cluster.local", "example.org")
	not namespace_of("reviews", "cluster.local")
}

test_covers_follows_istio_subset_of if {
	covers("api.stripe.com", "api.stripe.com")
	covers("*", "anything.example")
	covers("*", "*.example")
	covers("*.stripe.com", "api.stripe.com")
	covers("*.stripe.com", "*.eu.stripe.com")
	covers("*.stripe.com", "*.stripe.com")
	not covers("*.stripe.com", "stripe.com")
	not covers("api.stripe.com", "*.stripe.com")
	not covers("*.eu.stripe.com", "*.stripe.com")
	not covers("api.stripe.com", "evil-api.stripe.com")
	covered_by_any(["x.example", "*.stripe.com"], "api.stripe.com")
	not covered_by_any([], "api.stripe.com")
}

test_gateway_references if {
	gateway("mesh", "bookinfo") == ["", "mesh"]
	gateway("ingress", "bookinfo") == ["bookinfo", "ingress"]
	gateway("istio-system/ingressgateway", "bookinfo") == ["istio-system", "ingressgateway"]
	gateway("./ingress", "bookinfo") == ["bookinfo", "ingress"]
	gateway("ingressgateway.istio-system", "bookinfo") == ["istio-system", "ingressgateway"]
	gateway("ingressgateway.istio-system.svc.cluster.local", "bookinfo") == ["istio-system", "ingressgateway"]
	gateway_string(gateway("mesh", "x")) == "mesh"
	gateway_string(gateway("gw", "x")) == "x/gw"
}

test_export_to if {
	export_target(".", "bookinfo") == "bookinfo"
	export_target("*", "bookinfo") == "*"
	export_target("~", "bookinfo") == ""
	export_target("shop", "bookinfo") == "shop"
	visible([], "bookinfo", "shop", [])
	not visible([], "bookinfo", "shop", ["."])
	visible(["."], "bookinfo", "bookinfo", [])
	not visible(["."], "bookinfo", "shop", [])
	visible(["shop"], "bookinfo", "shop", [])
	visible(["*"], "bookinfo", "shop", [])
	not visible(["~"], "bookinfo", "bookinfo", [])
}

test_export_scopes if {
	export_scopes([], "foo") == {"*"}
	export_scopes([".", "*"], "foo") == {"*"}
	export_scopes([".", "bar", "~"], "foo") == {"foo", "bar"}
	scopes_overlap({"foo"}, {"*"})
	scopes_overlap({"foo", "bar"}, {"bar"})
	not scopes_overlap({"foo"}, {"bar"})
}

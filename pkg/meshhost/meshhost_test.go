package meshhost

import "testing"

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ host, ns, domain, want string }{
		{"reviews", "bookinfo", DefaultDomain, "reviews.bookinfo.svc.cluster.local"},
		{"Reviews", "bookinfo", DefaultDomain, "reviews.bookinfo.svc.cluster.local"},
		{"reviews.bookinfo", "other", DefaultDomain, "reviews.bookinfo"},
		{"api.stripe.com", "bookinfo", DefaultDomain, "api.stripe.com"},
		{"*", "bookinfo", DefaultDomain, "*"},
		{"::1", "bookinfo", DefaultDomain, "::1"},
		{"reviews", "", DefaultDomain, "reviews.svc.cluster.local"},
		{"reviews", "bookinfo", "", "reviews.bookinfo"},
	} {
		if got := Resolve(tc.host, tc.ns, tc.domain); got != tc.want {
			t.Errorf("Resolve(%q, %q, %q) = %q, want %q", tc.host, tc.ns, tc.domain, got, tc.want)
		}
	}
}

func TestNamespace(t *testing.T) {
	for _, tc := range []struct {
		host, want string
		ok         bool
	}{
		{"payments.payments.svc.cluster.local", "payments", true},
		{"payments.payments.svc", "payments", true},
		{"payments.payments", "payments", true},
		{"*.payments.svc.cluster.local", "payments", true},
		{"PAYMENTS.Payments.svc.cluster.local", "payments", true},
		{"*", "", false},
		{"*.svc.cluster.local", "", false},
		{"*.payments", "", false},
		{"api.stripe.com", "", false},
		{"a.b.payments.svc.cluster.local", "", false},
		{"x.*.svc.cluster.local", "", false},
		{"reviews", "", false},
	} {
		got, ok := Namespace(tc.host, DefaultDomain)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Namespace(%q) = %q, %v; want %q, %v", tc.host, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"api.stripe.com", "api.stripe.com", true},
		{"API.stripe.com", "api.STRIPE.com", true},
		{"*", "anything", true},
		{"*.stripe.com", "api.stripe.com", true},
		{"*.stripe.com", "*.eu.stripe.com", true},
		{"*.stripe.com", "stripe.com", false},
		{"api.stripe.com", "*.stripe.com", false},
		{"*.eu.stripe.com", "*.stripe.com", false},
		{"api.stripe.com", "evil-api.stripe.com", false},
	} {
		if got := Covers(tc.pattern, tc.host); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestParseGateway(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"mesh", "mesh"},
		{"ingress", "bookinfo/ingress"},
		{"./ingress", "bookinfo/ingress"},
		{"istio-system/ingressgateway", "istio-system/ingressgateway"},
		{"ingressgateway.istio-system", "istio-system/ingressgateway"},
		{"ingressgateway.istio-system.svc.cluster.local", "istio-system/ingressgateway"},
	} {
		if got := ParseGateway(tc.ref, "bookinfo").String(); got != tc.want {
			t.Errorf("ParseGateway(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestVisible(t *testing.T) {
	for _, tc := range []struct {
		exportTo, defaults []string
		viewer             string
		want               bool
	}{
		{nil, nil, "shop", true},
		{nil, []string{"."}, "shop", false},
		{[]string{"."}, nil, "bookinfo", true},
		{[]string{"."}, nil, "shop", false},
		{[]string{"shop"}, nil, "shop", true},
		{[]string{"*"}, nil, "shop", true},
		{[]string{"~"}, nil, "bookinfo", false},
	} {
		if got := Visible(tc.exportTo, "bookinfo", tc.viewer, tc.defaults); got != tc.want {
			t.Errorf("Visible(%q, bookinfo, %q, %q) = %v, want %v", tc.exportTo, tc.viewer, tc.defaults, got, tc.want)
		}
	}
}

package validate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// builtin is the result of a built-in rule about an object of bookinfo.
func builtin(sev Severity, pkg, object, field, msg string) Result {
	kind, rest, _ := strings.Cut(object, "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	ns, _, _ := strings.Cut(rest, "/")
	src := source(ns, name)
	if kind == "Namespace" {
		src = source(ns, "namespace")
	}
	r := Result{
		Policy:     "meshintent." + pkg,
		Rule:       string(sev),
		PolicyFile: "builtin/" + pkg + ".rego",
		Severity:   sev,
		Message:    msg,
		Object:     object,
		Source:     src,
		Field:      field,
	}
	if strings.HasSuffix(kind, "Intent") {
		r.Line = 1
	}
	return r
}

// coded is r with the Istio message code its rule gives.
func coded(r Result, code string) Result {
	r.Code = code
	return r
}

func TestEvaluateBuiltins(t *testing.T) {
	e := newEngine(t, Options{})
	jason := map[string]any{"match": []any{map[string]any{"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}}}}}
	fault := map[string]any{"fault": map[string]any{"abort": map[string]any{"httpStatus": int64(503), "percentage": map[string]any{"value": 10.0}}}}
	hosts := []any{"reviews"}

	tests := []struct {
		name string
		in   Input
		want []Result
	}{{
		name: "a valid set passes",
		in:   bookinfo(),
	}, {
		name: "weights that do not sum to 100 are denied",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, route("reviews", "v1", 80, "v2", 10))),
		want: []Result{builtin(SeverityDeny, "weights", "VirtualService/bookinfo/reviews", "spec.http[0].route", "http[0] route weights sum to 90, not 100")},
	}, {
		name: "a single destination without weight passes",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, to("reviews", "v1"))),
	}, {
		name: "a subset no DestinationRule defines is denied",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, route("reviews", "v1", 90, "v3", 10))),
		want: []Result{coded(builtin(SeverityDeny, "subsets", "VirtualService/bookinfo/reviews", "spec.http[0].route[1].destination.subset",
			"subset v3 of host reviews.bookinfo.svc.cluster.local is not defined by DestinationRule/bookinfo/reviews"), "IST0101")},
	}, {
		name: "a mirror to an undefined subset is denied",
		in: replace(bookinfo(), vs("bookinfo", "reviews", hosts,
			with(to("reviews", "v1"), map[string]any{"mirror": map[string]any{"host": "reviews", "subset": "v3"}}))),
		want: []Result{coded(builtin(SeverityDeny, "subsets", "VirtualService/bookinfo/reviews", "spec.http[0].mirror.subset",
			"subset v3 of host reviews.bookinfo.svc.cluster.local is not defined by DestinationRule/bookinfo/reviews"), "IST0101")},
	}, {
		name: "subsets of a fully qualified host resolve to the short name's DestinationRule",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, to("reviews.bookinfo.svc.cluster.local", "v2"))),
	}, {
		name: "rules after a catch-all warn",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, to("reviews", "v1"), with(to("reviews", "v2"), jason))),
		want: []Result{coded(builtin(SeverityWarn, "catchall", "VirtualService/bookinfo/reviews", "spec.http[1]", "http[1] is unreachable: http[0] before it matches every request"), "IST0130")},
	}, {
		name: "two VirtualServices for one host are denied",
		in:   replace(bookinfo(), vs("bookinfo", "reviews-canary", []any{"reviews.bookinfo.svc.cluster.local"}, to("reviews", "v1"))),
		want: []Result{
			coded(builtin(SeverityDeny, "uniquehosts", "VirtualService/bookinfo/reviews-canary", "spec.hosts[0]",
				"host reviews.bookinfo.svc.cluster.local is also routed by VirtualService/bookinfo/reviews: keep one VirtualService per host"), "IST0109"),
			coded(builtin(SeverityDeny, "uniquehosts", "VirtualService/bookinfo/reviews", "spec.hosts[0]",
				"host reviews.bookinfo.svc.cluster.local is also routed by VirtualService/bookinfo/reviews-canary: keep one VirtualService per host"), "IST0109"),
		},
	}, {
		name: "the same short name in another namespace is another host",
		in:   replace(bookinfo(), vs("other", "reviews", hosts, to("reviews", "v1")), dr("other", "reviews", "reviews", "v1")),
	}, {
		name: "a namespace with injection and a revision is denied",
		in:   replace(bookinfo(), namespace("bookinfo", map[string]any{"istio-injection": "enabled", "istio.io/rev": "canary"})),
		want: []Result{builtin(SeverityDeny, "injection", "Namespace/bookinfo", "metadata.labels", "namespace has both istio-injection=enabled and istio.io/rev=canary: keep one")},
	}, {
		name: "a namespace with sidecar injection and ambient mode is denied",
		in:   replace(bookinfo(), namespace("bookinfo", map[string]any{"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"})),
		want: []Result{builtin(SeverityDeny, "injection", "Namespace/bookinfo", "metadata.labels", "namespace has both istio-injection=enabled and istio.io/dataplane-mode=ambient: choose sidecar or ambient")},
	}, {
		name: "a suspension without reason is denied on the intent",
		in:   replaceIntents(bookinfo(), serviceIntent("bookinfo", "reviews", map[string]any{"suspend": map[string]any{"versions": []any{"v2"}}})),
		want: []Result{builtin(SeverityDeny, "suspend", "ServiceIntent/bookinfo/reviews", "spec.suspend.reason", "spec.suspend has no reason: say why the traffic is suspended")},
	}, {
		name: "an intent without Raw is checked in its typed form",
		in: replaceIntents(bookinfo(), intent.Document{
			Source: source("bookinfo", "reviews"), Line: 1,
			ServiceIntent: &v1alpha1.ServiceIntent{
				TypeMeta:   typeMeta(v1alpha1.KindServiceIntent),
				ObjectMeta: objectMeta("bookinfo", "reviews"),
				Spec:       v1alpha1.ServiceIntentSpec{Suspend: &v1alpha1.Suspend{All: true, Reason: "maintenance"}},
			},
		}),
		want: []Result{builtin(SeverityWarn, "suspend", "ServiceIntent/bookinfo/reviews", "spec.suspend.all", "every request is aborted with HTTP 503 (maintenance)")},
	}, {
		name: "a star host is denied",
		in:   replace(bookinfo(), dr("bookinfo", "all", "*")),
		want: []Result{builtin(SeverityDeny, "wildcardhosts", "DestinationRule/bookinfo/all", "spec.host", `host is "*", which applies to every host: name the host`)},
	}, {
		name: "a timeout and retries above the limits are denied",
		in: replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(route("reviews", "v1", 90, "v2", 10), map[string]any{
			"timeout": "2m",
			"retries": map[string]any{"attempts": int64(12), "perTryTimeout": "0.500s"},
		}))),
		want: []Result{
			builtin(SeverityDeny, "resilience", "VirtualService/bookinfo/reviews", "spec.http[0].retries.attempts", "12 retry attempts are above the maximum of 10"),
			builtin(SeverityDeny, "resilience", "VirtualService/bookinfo/reviews", "spec.http[0].timeout", "2m is above the maximum of 60s"),
		},
	}, {
		name: "retries that outlast the timeout warn",
		in: replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(route("reviews", "v1", 90, "v2", 10), map[string]any{
			"timeout": "2s",
			"retries": map[string]any{"attempts": int64(3), "perTryTimeout": "1s"},
		}))),
		want: []Result{builtin(SeverityWarn, "resilience", "VirtualService/bookinfo/reviews", "spec.http[0].retries", "4 tries of up to 1s do not fit in the 2s timeout: the last retries never run")},
	}, {
		name: "fault injection in a production namespace is denied",
		in:   replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(to("reviews", "v1"), fault))),
		want: []Result{builtin(SeverityDeny, "faults", "VirtualService/bookinfo/reviews", "spec.http[0].fault",
			"http[0] injects faults in production namespace bookinfo: set spec.allowFaultInjection on NamespaceIntent/bookinfo to allow it")},
	}, {
		name: "fault injection the NamespaceIntent allows passes",
		in: replaceIntents(replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(to("reviews", "v1"), fault))),
			namespaceIntent("bookinfo", map[string]any{"dataplane": "sidecar", "environment": "production", "allowFaultInjection": true})),
	}, {
		name: "fault injection outside production passes",
		in: replaceIntents(replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(to("reviews", "v1"), fault))),
			namespaceIntent("bookinfo", map[string]any{"dataplane": "sidecar", "environment": "staging"})),
	}, {
		name: "the abort of a suspension in production only warns",
		in: replaceIntents(replace(bookinfo(), vs("bookinfo", "reviews", hosts, with(to("reviews", "v1"), map[string]any{
			"fault": map[string]any{"abort": map[string]any{"httpStatus": int64(503), "percentage": map[string]any{"value": 100.0}}},
		}))), serviceIntent("bookinfo", "reviews", map[string]any{"suspend": map[string]any{"all": true, "reason": "INC-42"}})),
		want: []Result{builtin(SeverityWarn, "suspend", "ServiceIntent/bookinfo/reviews", "spec.suspend.all", "every request is aborted with HTTP 503 (INC-42)")},
	}, {
		name: "a DestinationRule that disables TLS warns",
		in: replace(bookinfo(), func() manifest.Object {
			o := dr("bookinfo", "reviews", "reviews", "v1", "v2")
			o.Object["spec"].(map[string]any)["trafficPolicy"] = map[string]any{"tls": map[string]any{"mode": "DISABLE"}}
			return o
		}()),
		want: []Result{builtin(SeverityWarn, "tls", "DestinationRule/bookinfo/reviews", "spec.trafficPolicy.tls.mode", "TLS mode DISABLE sends plaintext to reviews")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.Evaluate(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tt.want, r.Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			denials := 0
			for _, x := range tt.want {
				if x.Severity == SeverityDeny {
					denials++
				}
			}
			if r.Denials != denials || r.Warnings != len(tt.want)-denials || r.Denied() != (denials > 0) {
				t.Errorf("Denials, Warnings, Denied() = %d, %d, %v; want %d, %d, %v", r.Denials, r.Warnings, r.Denied(), denials, len(tt.want)-denials, denials > 0)
			}
			if got := len(r.Filter(SeverityWarn)); got != r.Warnings {
				t.Errorf("Filter(warn) has %d results, Warnings is %d", got, r.Warnings)
			}
			if r.Objects != len(tt.in.Objects) || r.Intents != len(tt.in.Intents) {
				t.Errorf("Objects, Intents = %d, %d; want %d, %d", r.Objects, r.Intents, len(tt.in.Objects), len(tt.in.Intents))
			}
		})
	}
}

func TestEvaluateIsDeterministic(t *testing.T) {
	in := generate(200)
	// Break a few services, in ways that give several results each.
	for i := range in.Objects {
		o := &in.Objects[i]
		if o.GetKind() == "VirtualService" && i%17 == 0 {
			o.Object["spec"].(map[string]any)["hosts"] = []any{"*"}
		}
		if o.GetKind() == "DestinationRule" && i%13 == 0 {
			o.Object["spec"].(map[string]any)["subsets"] = []any{}
		}
	}
	serial, err := newEngine(t, Options{Parallelism: 1}).Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if serial.Denials < 10 {
		t.Fatalf("want a good number of denials to compare, got %d", serial.Denials)
	}
	for range 3 {
		parallel, err := newEngine(t, Options{Parallelism: 4}).Evaluate(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(serial, parallel); diff != "" {
			t.Fatalf("parallel report differs (-serial +parallel):\n%s", diff)
		}
	}
	for i := 1; i < len(serial.Results); i++ {
		if compareResults(serial.Results[i-1], serial.Results[i]) >= 0 {
			t.Fatalf("results %d and %d are not in order:\n%+v\n%+v", i-1, i, serial.Results[i-1], serial.Results[i])
		}
	}
}

func TestEvaluateStopsWhenCancelled(t *testing.T) {
	e := newEngine(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, generate(50)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Evaluate with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestEvaluateEmptyInput(t *testing.T) {
	r, err := newEngine(t, Options{}).Evaluate(context.Background(), Input{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 0 || r.Denied() {
		t.Fatalf("empty input: got %+v", r)
	}
}

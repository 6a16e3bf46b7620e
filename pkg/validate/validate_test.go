package validate

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshintent/meshintent/pkg/manifest"
)

func telemetry(ns, name string, sampling float64, annotations map[string]any) manifest.Object {
	return object(map[string]any{
		"apiVersion": "telemetry.istio.io/v1",
		"kind":       "Telemetry",
		"metadata":   map[string]any{"name": name, "namespace": ns, "annotations": annotations},
		"spec":       map[string]any{"tracing": []any{map[string]any{"randomSamplingPercentage": sampling}}},
	}, "istio/"+name+".yaml", "")
}

func TestRepositoryPolicies(t *testing.T) {
	e := newEngine(t, Options{Policies: []Source{{Name: "policies", FS: dirFS(t, "testdata/repo-policies")}}})
	in := replace(bookinfo(),
		telemetry("bookinfo", "mesh-default", 50, nil),
		// In another namespace: two Telemetry without selector in one
		// namespace conflict (meshintent.selectors, IST0160).
		telemetry("reviews-team", "owned", 5, map[string]any{"owner": "team-a"}),
		// Within the built-in 60s, above the repository's 10s.
		vs("bookinfo", "reviews", []any{"reviews"}, with(to("reviews", "v1"), map[string]any{"timeout": "30s"})),
	)
	r, err := e.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		builtin(SeverityDeny, "resilience", "VirtualService/bookinfo/reviews", "spec.http[0].timeout", "30s is above the maximum of 10s"),
		{
			Policy: "team.tracing", Rule: "deny_unowned", PolicyFile: "policies/tracing.rego", Severity: SeverityDeny,
			Message: "Telemetry/bookinfo/mesh-default has no owner annotation",
			Object:  "Telemetry/bookinfo/mesh-default", Source: "istio/mesh-default.yaml",
		},
		{
			Policy: "team.tracing.budget", Rule: "warn_sampling", PolicyFile: "policies/tracing.rego", Severity: SeverityWarn,
			Message: "samples 50% of requests, above the team budget of 10%",
			Object:  "Telemetry/bookinfo/mesh-default", Source: "istio/mesh-default.yaml",
			Field: "spec.tracing[0].randomSamplingPercentage",
		},
	}
	if diff := cmp.Diff(want, r.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestDataOverridesLimits(t *testing.T) {
	in := replace(bookinfo(), vs("bookinfo", "reviews", []any{"reviews"}, with(to("reviews", "v1"), map[string]any{
		"retries": map[string]any{"attempts": int64(3)},
	})))
	tests := []struct {
		name string
		data map[string]any
		want []Result
	}{{
		name: "the default maximum allows 3 attempts",
	}, {
		name: "a lower maximum denies them",
		data: map[string]any{"meshintent": map[string]any{"config": map[string]any{"retries": map[string]any{"maxAttempts": 2}}}},
		want: []Result{builtin(SeverityDeny, "resilience", "VirtualService/bookinfo/reviews", "spec.http[0].retries.attempts", "3 retry attempts are above the maximum of 2")},
	}, {
		name: "an override keeps the other defaults",
		data: map[string]any{"meshintent": map[string]any{"config": map[string]any{"timeout": map[string]any{"max": "1s"}}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newEngine(t, Options{Data: tt.data}).Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDataOverrideDoesNotChangeTheCallersMap(t *testing.T) {
	data := map[string]any{"meshintent": map[string]any{"config": map[string]any{"retries": map[string]any{"maxAttempts": 2}}}}
	newEngine(t, Options{Data: data})
	want := map[string]any{"meshintent": map[string]any{"config": map[string]any{"retries": map[string]any{"maxAttempts": 2}}}}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("Options.Data changed (-want +got):\n%s", diff)
	}
}

func TestNewRefusesBrokenPolicies(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{{
		name: "a policy that does not parse is named with its line",
		opts: Options{Policies: []Source{Dir("testdata/broken-parse")}},
		want: []string{"testdata/broken-parse/bad.rego:5", "rego_parse_error"},
	}, {
		name: "a policy that does not compile is named with its line",
		opts: Options{Policies: []Source{Dir("testdata/broken-compile")}},
		want: []string{"testdata/broken-compile/bad.rego:7", "no_such_function"},
	}, {
		name: "an index rule reading input is refused",
		opts: Options{Policies: []Source{Dir("testdata/broken-index")}},
		want: []string{"testdata/broken-index/index.rego:4", "data.meshintent.index.team.hosts reads input"},
	}, {
		name: "data cannot set the rendered objects",
		opts: Options{Data: map[string]any{"meshintent": map[string]any{"objects": []any{}}}},
		want: []string{"options data", "meshintent.objects is provided by the engine"},
	}, {
		name: "a data file cannot set the live view of the cluster",
		opts: Options{Policies: []Source{{Name: "policies", FS: fstest.MapFS{"data.yaml": {Data: []byte(
			"meshintent:\n  cluster:\n    namespaces: {bookinfo: true}\n    services: {bookinfo/reviews: {ports: []}}\n")}}}}},
		want: []string{"data policies/data.yaml: meshintent.cluster is provided by the engine and cannot be set"},
	}, {
		name: "a data file that is not YAML is named",
		opts: Options{Policies: []Source{{Name: "policies", FS: fstest.MapFS{"data.yaml": {Data: []byte("a: [")}}}}},
		want: []string{"parsing data policies/data.yaml"},
	}, {
		name: "two sources with the same name are refused",
		opts: Options{Policies: []Source{Dir("testdata/repo-policies"), Dir("testdata/repo-policies")}},
		want: []string{"policy testdata/repo-policies/tracing.rego is loaded twice"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.opts)
			wantError(t, err, tt.want...)
		})
	}
}

// TestLiveViewComesFromTheCaller checks that data.meshintent.cluster, which
// a data file may not set, still reaches the live checks from Options.Data:
// a route to a Service the view lacks is denied with IST0101, and one the
// view has is not.
func TestLiveViewComesFromTheCaller(t *testing.T) {
	view := func(services ...string) map[string]any {
		svcs := map[string]any{}
		for _, s := range services {
			svcs["bookinfo/"+s] = map[string]any{"ports": []any{map[string]any{"number": 9080}}}
		}
		return map[string]any{"meshintent": map[string]any{"cluster": map[string]any{
			"namespaces": map[string]any{"bookinfo": true},
			"services":   svcs,
		}}}
	}
	in := Input{Objects: manifest.Set{vs("bookinfo", "details", []any{"details"},
		map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "details"}}}})}}
	tests := []struct {
		name string
		data map[string]any
		want []string // policy, field and code of each meshintent.live denial
	}{{
		name: "a route to a Service the view lacks is denied",
		data: view("reviews"),
		want: []string{"meshintent.live spec.http[0].route[0].destination.host IST0101"},
	}, {
		name: "a route to a Service the view has is not",
		data: view("details"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := newEngine(t, Options{Data: tt.data}).Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rep.Filter(SeverityDeny) {
				if r.Policy == "meshintent.live" {
					got = append(got, r.Policy+" "+r.Field+" "+r.Code)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("live denials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicyRulesAreFoundByName(t *testing.T) {
	e := newEngine(t, Options{Policies: []Source{Dir("testdata/repo-policies")}})
	var got []string
	for kind, q := range e.byKind {
		for _, r := range q.rules {
			if strings.HasPrefix(r.pkg, "team.") {
				got = append(got, kind+" "+r.pkg+"."+r.name)
			}
		}
	}
	for _, r := range e.other.rules {
		if strings.HasPrefix(r.pkg, "team.") {
			got = append(got, "other "+r.pkg+"."+r.name)
		}
	}
	// deny_unowned tests input.kind with "in", so it may apply to any kind.
	want := []string{"Telemetry team.tracing.warn_sampling", "other team.tracing.deny_unowned"}
	for kind := range e.byKind {
		want = append(want, kind+" team.tracing.deny_unowned")
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("rules by kind (-want +got):\n%s", diff)
	}
}

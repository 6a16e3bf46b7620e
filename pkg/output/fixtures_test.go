package output

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/manifest/manifesttest"
	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/validate"
)

// hostile is repository text meant to break out of every format: an HTML
// comment, a mention, a table break, a workflow command, a CDATA end,
// quotes, and line breaks.
const hostile = "<!-- x --> @org/team | ]]> \"q\" ::error::pwned\r\n::warning file=a,line=1::x %0A 50%, a:b"

// report is a policy verdict with a denial located through an overlay,
// a warning without a line, a waived denial and a hostile message.
func report() *validate.Report {
	rs := []validate.Result{
		{
			Severity: validate.SeverityDeny, Policy: "meshintent.weights", Rule: "deny", PolicyFile: "builtin/weights.rego",
			Object: "VirtualService/bookinfo/reviews", Field: "spec.http[3].route", Message: "weights sum to 90, not 100",
			Source: "base/reviews.yaml", Line: 52,
			Related: []intent.Location{{File: "overlays/prod/weights.yaml", Line: 9}},
		},
		{
			Severity: validate.SeverityDeny, Policy: "team.naming", Rule: "deny_name", PolicyFile: "policies/naming.rego",
			Object: "ServiceIntent/bookinfo/ratings", Field: "metadata.name", Message: hostile,
			Source: "base/ratings, v1:x.yaml", Line: 3,
		},
		{
			Severity: validate.SeverityWarn, Policy: "meshintent.tls", Rule: "warn", PolicyFile: "builtin/tls.rego",
			Object: "DestinationRule/bookinfo/reviews", Field: "spec.trafficPolicy.tls.mode", Message: "TLS is disabled",
			Source: "base/reviews.yaml",
		},
		{
			Severity: "waived", Policy: "meshintent.faults", Rule: "deny", PolicyFile: "builtin/faults.rego",
			Object: "VirtualService/bookinfo/ratings", Field: "spec.http[0].fault", Message: "fault injection in production",
			Source: "base/ratings.yaml", Line: 20,
			Waived: &validate.Waiver{Reason: "chaos drill, ticket OPS-7", Expires: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), By: "meshintent.yaml:12"},
		},
	}
	return &validate.Report{Results: rs, Denials: 2, Warnings: 1, Waived: 1, Objects: 11, Intents: 6}
}

func descriptions() map[string]string {
	return Describe(report().Results, func(string) ([]byte, error) {
		return []byte("# Package team.naming: names follow the team's scheme.\n# Second line.\npackage team.naming\n"), nil
	})
}

func virtualService(name string, weights ...int64) manifest.Object {
	return manifesttest.Istio("VirtualService", name, map[string]any{
		"hosts": []any{name},
		"http": []any{
			map[string]any{
				"match": []any{map[string]any{"headers": map[string]any{"end-user": map[string]any{"exact": "jason"}}}},
				"route": []any{map[string]any{"destination": map[string]any{"host": name, "subset": "v2"}}},
			},
			manifesttest.WeightedRoute(name, weights...),
		},
	})
}

func destinationRule(name string, lb string) manifest.Object {
	return manifesttest.Istio("DestinationRule", name, map[string]any{
		"host":          name,
		"trafficPolicy": map[string]any{"loadBalancer": map[string]any{"simple": lb}},
		"subsets":       []any{map[string]any{"name": "v1", "labels": map[string]any{"version": "v1"}}},
	})
}

// bigPlan is a plan of n services whose VirtualService and
// DestinationRule both change: 2n changed objects.
func bigPlan(t testing.TB, n int) Plan {
	t.Helper()
	var base, head manifest.Set
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		base = append(base, virtualService(name, 90, 10), destinationRule(name, "ROUND_ROBIN"))
		head = append(head, virtualService(name, 50, 50), destinationRule(name, "LEAST_REQUEST"))
	}
	base.Sort()
	head.Sort()
	changes, sum, err := plan.Compare(base, head)
	if err != nil {
		t.Fatal(err)
	}
	return Plan{Path: "overlays/prod", Base: "main@sha1:1111", Head: "canary@sha1:2222", Summary: sum, Changes: changes, Report: report()}
}

package validate

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// teamPolicy denies, for VirtualServices, a missing owner label
// (deny_no_owner) and the name reviews (deny); exception rules are added
// by the cases.
const teamPolicy = `package team

deny_no_owner contains "no owner label" if {
	input.kind == "VirtualService"
	not input.metadata.labels.owner
}

deny contains "reviews is frozen" if {
	input.kind == "VirtualService"
	input.metadata.name == "reviews"
}
`

func TestExceptions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tomorrow, yesterday := now.Add(24*time.Hour), now.Add(-24*time.Hour)
	ratings := vs("bookinfo", "ratings", []any{"ratings"}, to("ratings", "v1"))
	in := replace(bookinfo(), ratings, dr("bookinfo", "ratings", "ratings", "v1"))

	// The results of teamPolicy without exceptions.
	team := func(sev Severity, rule, object, msg string, w *Waiver) Result {
		name := object[len("VirtualService/bookinfo/"):]
		return Result{Policy: "team", Rule: rule, PolicyFile: "policies/team.rego", Severity: sev, Message: msg,
			Object: object, Source: source("bookinfo", name), Waived: w}
	}
	reviewsNoOwner := team(SeverityDeny, "deny_no_owner", "VirtualService/bookinfo/reviews", "no owner label", nil)
	ratingsNoOwner := team(SeverityDeny, "deny_no_owner", "VirtualService/bookinfo/ratings", "no owner label", nil)
	reviewsFrozen := team(SeverityDeny, "deny", "VirtualService/bookinfo/reviews", "reviews is frozen", nil)
	waived := func(r Result, w Waiver) Result {
		r.Severity, r.Waived = SeverityWaived, &w
		return r
	}
	warning := func(object, source string, line int, msg string) Result {
		return Result{Policy: "meshintent.exceptions", Rule: "warn", Severity: SeverityWarn, Object: object, Source: source, Line: line, Message: msg}
	}

	tests := []struct {
		name       string
		exceptions []Exception
		rego       string // added to teamPolicy
		want       []Result
	}{{
		name: "without exceptions every denial blocks",
		want: []Result{ratingsNoOwner, reviewsFrozen, reviewsNoOwner},
	}, {
		name: "an exception of meshintent.yaml waives the named rule for the named object",
		exceptions: []Exception{{Policy: "team", Rule: "deny_no_owner", Objects: []string{"VirtualService/bookinfo/reviews"},
			Reason: "owned by the platform team", Expires: tomorrow, Source: "meshintent.yaml:4"}},
		want: []Result{ratingsNoOwner, reviewsFrozen,
			waived(reviewsNoOwner, Waiver{Reason: "owned by the platform team", Expires: tomorrow, By: "meshintent.yaml:4"})},
	}, {
		name: "an exception without a rule waives every deny rule of the policy, a pattern several objects",
		exceptions: []Exception{{Policy: "team", Objects: []string{"VirtualService/bookinfo/*"},
			Reason: "migration", Expires: tomorrow, Source: "meshintent.yaml:4"}},
		want: []Result{
			waived(ratingsNoOwner, Waiver{Reason: "migration", Expires: tomorrow, By: "meshintent.yaml:4"}),
			waived(reviewsFrozen, Waiver{Reason: "migration", Expires: tomorrow, By: "meshintent.yaml:4"}),
			waived(reviewsNoOwner, Waiver{Reason: "migration", Expires: tomorrow, By: "meshintent.yaml:4"}),
		},
	}, {
		name: "an expired exception waives nothing and says so",
		exceptions: []Exception{{Policy: "team", Rule: "deny_no_owner", Objects: []string{"VirtualService/bookinfo/reviews"},
			Reason: "owned by the platform team", Expires: yesterday, Source: "meshintent.yaml:4"}},
		want: []Result{ratingsNoOwner, reviewsFrozen, reviewsNoOwner,
			warning("Exception/team", "meshintent.yaml", 4, "exception for team expired on 2026-02-28T12:00:00Z: its denials are back (reason was: owned by the platform team)")},
	}, {
		name: "an exception of an unknown policy is a warning",
		exceptions: []Exception{{Policy: "team.typo", Objects: []string{"VirtualService/bookinfo/reviews"},
			Reason: "r", Expires: tomorrow, Source: "meshintent.yaml:9"}},
		want: []Result{ratingsNoOwner, reviewsFrozen, reviewsNoOwner,
			warning("Exception/team.typo", "meshintent.yaml", 9, "exception for policy team.typo waives nothing: no policy of that name has deny rules")},
	}, {
		name: "an exception of an unknown rule is a warning",
		exceptions: []Exception{{Policy: "team", Rule: "deny_no_onwer", Objects: []string{"VirtualService/bookinfo/reviews"},
			Reason: "r", Expires: tomorrow, Source: "meshintent.yaml:9"}},
		want: []Result{ratingsNoOwner, reviewsFrozen, reviewsNoOwner,
			warning("Exception/team", "meshintent.yaml", 9, "exception for team rule deny_no_onwer waives nothing: the policy has no deny rule of that name")},
	}, {
		name: "a Rego exception rule waives the rules named by their suffix, for the inputs it matches",
		rego: "\nexception contains [\"no_owner\"] if {\n\tinput.metadata.name == \"reviews\"\n}\n",
		want: []Result{ratingsNoOwner, reviewsFrozen,
			waived(reviewsNoOwner, Waiver{Reason: "waived by a Rego exception rule", By: "data.team.exception in policies/team.rego"})},
	}, {
		name: "a Rego exception with the empty suffix waives the plain deny rule",
		rego: "\nexception contains rules if {\n\tinput.metadata.name == \"reviews\"\n\trules := [\"\"]\n}\n",
		want: []Result{ratingsNoOwner, reviewsNoOwner,
			waived(reviewsFrozen, Waiver{Reason: "waived by a Rego exception rule", By: "data.team.exception in policies/team.rego"})},
	}, {
		name: "a Rego exception may give a reason and an expiry",
		rego: "\nexception contains {\"rules\": [\"no_owner\"], \"reason\": \"legacy\", \"expires\": \"2026-03-01\"} if {\n\tinput.metadata.name == \"ratings\"\n}\n",
		want: []Result{reviewsFrozen, reviewsNoOwner,
			waived(ratingsNoOwner, Waiver{Reason: "legacy", Expires: time.Date(2026, 3, 1, 23, 59, 59, 999999999, time.UTC), By: "data.team.exception in policies/team.rego"})},
	}, {
		name: "an expired Rego exception waives nothing",
		rego: "\nexception contains {\"rules\": [\"no_owner\"], \"reason\": \"legacy\", \"expires\": \"2026-02-01\"} if {\n\tinput.metadata.name == \"ratings\"\n}\n",
		want: []Result{
			team(SeverityDeny, "deny_no_owner", "VirtualService/bookinfo/ratings", "no owner label (its Rego exception has expired)", nil),
			reviewsFrozen, reviewsNoOwner},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Options{
				Policies:   []Source{repoSource(map[string]string{"team.rego": teamPolicy + tt.rego})},
				Exceptions: tt.exceptions,
				Now:        func() time.Time { return now },
			})
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var got []Result
			for _, r := range rep.Results {
				if r.Policy == "team" || r.Policy == "meshintent.exceptions" {
					got = append(got, r)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			var denials, waivedN int
			for _, r := range tt.want {
				switch r.Severity {
				case SeverityDeny:
					denials++
				case SeverityWaived:
					waivedN++
				}
			}
			if rep.Denials != denials || rep.Waived != waivedN {
				t.Errorf("counts: %d denials, %d waived; want %d, %d", rep.Denials, rep.Waived, denials, waivedN)
			}
		})
	}
	t.Run("a report whose denials are all waived is not denied", func(t *testing.T) {
		e := newEngine(t, Options{
			Policies:   []Source{repoSource(map[string]string{"team.rego": teamPolicy})},
			Exceptions: []Exception{{Policy: "team", Objects: []string{"VirtualService/bookinfo/*"}, Reason: "r", Expires: tomorrow}},
			Now:        func() time.Time { return now },
		})
		rep, err := e.Evaluate(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Denied() {
			t.Errorf("denied: %+v", rep.Filter(SeverityDeny))
		}
	})
}

func TestParseExpiry(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2026-06-30", want: time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.UTC)},
		{in: "2026-06-30T12:00:00+02:00", want: time.Date(2026, 6, 30, 10, 0, 0, 0, time.UTC)},
		{in: "30/06/2026", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseExpiry(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestTheTenancyFenceCannotBeWaived(t *testing.T) {
	fence := map[string]any{"meshintent": map[string]any{"config": map[string]any{"allowedNamespaces": []any{"elsewhere"}}}}
	tests := []struct {
		name       string
		exceptions []Exception
		rego       string
		wantWarn   string
	}{{
		name: "by meshintent.yaml",
		exceptions: []Exception{{Policy: "meshintent.tenancy", Objects: []string{"*/*/*", "*/*"}, Reason: "let me out",
			Expires: time.Now().Add(time.Hour), Source: "meshintent.yaml:2"}},
		wantWarn: "exception for policy meshintent.tenancy is ignored: the tenancy fence is set by the operator, not by the repository",
	}, {
		name: "by a Rego exception rule in the fence's package",
		rego: "package meshintent.tenancy\n\nexception contains [\"\"] if { true }\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Data: fence, Exceptions: tt.exceptions}
			if tt.rego != "" {
				opts.Policies = []Source{repoSource(map[string]string{"escape.rego": tt.rego})}
			}
			rep, err := newEngine(t, opts).Evaluate(context.Background(), bookinfo())
			if err != nil {
				t.Fatal(err)
			}
			var fenced, waived int
			var warned bool
			for _, r := range rep.Results {
				switch {
				case r.Policy == "meshintent.tenancy" && r.Severity == SeverityDeny:
					fenced++
				case r.Severity == SeverityWaived:
					waived++
				case r.Policy == "meshintent.exceptions" && r.Message == tt.wantWarn:
					warned = true
				}
			}
			if fenced == 0 || waived != 0 {
				t.Errorf("%d fence denials, %d waived results; want denials and nothing waived: %+v", fenced, waived, rep.Results)
			}
			if tt.wantWarn != "" && !warned {
				t.Errorf("no warning %q: %+v", tt.wantWarn, rep.Results)
			}
		})
	}
}

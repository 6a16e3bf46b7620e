package validate

import (
	"cmp"
	"slices"

	"github.com/meshintent/meshintent/pkg/intent"
)

// Severity says whether a result blocks the apply.
type Severity string

// Severities of results.
const (
	// SeverityDeny blocks: it comes from a deny… or violation… rule.
	SeverityDeny Severity = "deny"
	// SeverityWarn is reported only: it comes from a warn… rule.
	SeverityWarn Severity = "warn"
	// SeverityWaived is a denial an exception waives: it does not block,
	// and Result.Waived says why (see Exception).
	SeverityWaived Severity = "waived"
)

// Result is one message of one policy rule about one object or intent.
type Result struct {
	// Policy is the rule's package without "data.", e.g. "meshintent.weights",
	// or the "policy" field of the result when the rule sets one.
	Policy string
	// Rule is the rule's name, e.g. "deny" or "warn_retry_budget".
	Rule string
	// PolicyFile is the file defining the rule, e.g. "builtin/weights.rego"
	// or "policies/team.rego"; empty when several files define it.
	PolicyFile string
	// Severity is deny for deny… and violation… rules, warn for warn…,
	// waived for a denial an exception waives.
	Severity Severity
	// Message is the rule's message ("msg" when the rule gives an object).
	Message string
	// Object is the ID of what was evaluated: Kind/namespace/name (Kind/name
	// when cluster-scoped) for an object, NamespaceIntent/<name> or
	// ServiceIntent/<namespace>/<name> for an intent.
	Object string
	// Source is the repo-relative file the object or intent came from.
	Source string
	// Line is the line in Source that produced Field (for a generated
	// object, the intent's line that produced it, e.g. the split entry
	// behind spec.http[1].route; see render.Result.Locate), else the line of
	// the intent or object; 0 when unknown.
	Line int
	// Related are the other places that wrote Field's value: the overlay
	// patches that set it, in the order kustomize applies them. Empty when
	// no patch did or the value's origin is unknown.
	Related []intent.Location
	// Field is the path of the offending field, e.g. "spec.http[1].route",
	// when the rule gives one.
	Field string
	// Code is the rule's "code", e.g. IST0101 for the check Istio's
	// istioctl analyze reports under that message code; empty when the rule
	// gives none.
	Code string
	// Waived is set, with Severity waived, on a denial an exception waives:
	// its reason, expiry and where it is written. Nil otherwise.
	Waived *Waiver
}

// Report is the outcome of a gate run.
type Report struct {
	// Results are sorted: denials first, then warnings, then waived
	// denials, each by source file, object, policy, rule, field and message.
	Results []Result
	// Denials, Warnings and Waived count Results by severity.
	Denials, Warnings, Waived int
	// Objects and Intents count what was evaluated.
	Objects, Intents int
}

// Denied says whether any policy denied: the set must not be applied.
func (r *Report) Denied() bool { return r.Denials > 0 }

// Filter returns the results of a severity.
func (r *Report) Filter(s Severity) []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Severity == s {
			out = append(out, x)
		}
	}
	return out
}

func newReport(results []Result, objects, intents int) *Report {
	slices.SortFunc(results, compareResults)
	results = slices.CompactFunc(results, func(a, b Result) bool { return compareResults(a, b) == 0 })
	r := &Report{Results: results, Objects: objects, Intents: intents}
	for _, x := range results {
		switch x.Severity {
		case SeverityDeny:
			r.Denials++
		case SeverityWaived:
			r.Waived++
		default:
			r.Warnings++
		}
	}
	return r
}

func severityRank(s Severity) int {
	switch s {
	case SeverityDeny:
		return 0
	case SeverityWaived:
		return 2
	}
	return 1
}

func compareResults(a, b Result) int {
	return cmp.Or(
		cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
		cmp.Compare(a.Source, b.Source),
		cmp.Compare(a.Object, b.Object),
		cmp.Compare(a.Policy, b.Policy),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.PolicyFile, b.PolicyFile),
		cmp.Compare(a.Line, b.Line),
		compareWaivers(a.Waived, b.Waived),
	)
}

// compareWaivers orders results without a waiver first.
func compareWaivers(a, b *Waiver) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Or(cmp.Compare(a.By, b.By), cmp.Compare(a.Reason, b.Reason), a.Expires.Compare(b.Expires))
}

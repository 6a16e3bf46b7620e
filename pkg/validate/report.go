package validate

import (
	"cmp"
	"slices"
)

// Severity says whether a result blocks the apply.
type Severity string

// Severities of results.
const (
	// SeverityDeny blocks: it comes from a deny… or violation… rule.
	SeverityDeny Severity = "deny"
	// SeverityWarn is reported only: it comes from a warn… rule.
	SeverityWarn Severity = "warn"
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
	// Severity is deny for deny… and violation… rules, warn for warn….
	Severity Severity
	// Message is the rule's message ("msg" when the rule gives an object).
	Message string
	// Object is the ID of what was evaluated: Kind/namespace/name (Kind/name
	// when cluster-scoped) for an object, NamespaceIntent/<name> or
	// ServiceIntent/<namespace>/<name> for an intent.
	Object string
	// Source is the repo-relative file the object or intent came from.
	Source string
	// Line is the line of the intent in Source; 0 for objects.
	Line int
	// Field is the path of the offending field, e.g. "spec.http[1].route",
	// when the rule gives one.
	Field string
}

// Report is the outcome of a gate run.
type Report struct {
	// Results are sorted: denials first, then by source file, object,
	// policy, rule, field and message.
	Results []Result
	// Denials and Warnings count Results by severity.
	Denials, Warnings int
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
	results = slices.Compact(results)
	r := &Report{Results: results, Objects: objects, Intents: intents}
	for _, x := range results {
		if x.Severity == SeverityDeny {
			r.Denials++
		} else {
			r.Warnings++
		}
	}
	return r
}

func severityRank(s Severity) int {
	if s == SeverityDeny {
		return 0
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
	)
}

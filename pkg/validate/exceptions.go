package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Exceptions waive denials, conftest style, in two ways:
//
//   - an Exception (from meshintent.yaml's exceptions) names a policy, an
//     optional deny rule, the objects it is waived for, a reason and an
//     expiry date;
//   - a Rego rule named exception in a policy's package yields, for the
//     input it matches, the suffixes of the rules it waives: ["foo"] waives
//     deny_foo and violation_foo, [""] waives deny and violation. An element
//     may also be an object {"rules": [...], "reason": "...", "expires":
//     "2026-06-30"}.
//
// A waived denial stays in the report as a result of severity waived,
// carrying the Waiver. A lapsed exception waives nothing: the denial is
// back, and a warning says which exception lapsed.

// Exception waives a policy's denials for some objects until it expires.
type Exception struct {
	// Policy is the result's policy, e.g. "meshintent.faults".
	Policy string `json:"policy"`
	// Rule is the deny rule, e.g. "deny" or "deny_production"; empty for
	// every deny and violation rule of the policy.
	Rule string `json:"rule,omitempty"`
	// Objects are the IDs of the objects and intents waived, as results
	// name them (ServiceIntent/bookinfo/reviews, VirtualService/ns/name); a
	// path.Match pattern (VirtualService/bookinfo/*) matches several.
	Objects []string `json:"objects"`
	// Reason says why; it is shown with every waived result.
	Reason string `json:"reason"`
	// Expires is the last moment the exception waives.
	Expires time.Time `json:"expires"`
	// Source locates the exception for messages, e.g. "meshintent.yaml:12".
	Source string `json:"-"`
}

// Waiver says why a denial is waived.
type Waiver struct {
	// Reason is the exception's reason.
	Reason string `json:"reason"`
	// Expires is when the exception lapses; zero when it does not.
	Expires time.Time `json:"expires,omitzero"`
	// By locates the exception: "meshintent.yaml:12", or the package and
	// file of a Rego exception rule ("data.team.exception in policies/x.rego").
	By string `json:"by"`
}

const (
	// exceptionRuleName is conftest's name of exception rules.
	exceptionRuleName = "exception"
	// severityException marks the exception rules among a query's rules.
	severityException Severity = "exception"
	// exceptionsPolicy is the policy of the warnings about exceptions.
	exceptionsPolicy = "meshintent.exceptions"
)

// Unwaivable are the policies no exception waives, with why: the tenancy
// fence is the operator's (an IntentSync's allowedNamespaces, the CLI's
// --allowed-namespaces), not the fenced repository's to lift.
var Unwaivable = map[string]string{
	"meshintent.tenancy": "the tenancy fence is set by the operator, not by the repository",
}

// lapsed says whether an exception expiring at expires has lapsed at now.
func lapsed(expires, now time.Time) bool { return !expires.IsZero() && now.After(expires) }

// matches says whether x covers the denial r.
func (x Exception) matches(r Result, pkg string) bool {
	if x.Policy != r.Policy && x.Policy != pkg {
		return false
	}
	if x.Rule != "" && x.Rule != r.Rule {
		return false
	}
	for _, o := range x.Objects {
		if o == r.Object {
			return true
		}
		if ok, _ := path.Match(o, r.Object); ok {
			return true
		}
	}
	return false
}

// checkExceptions warns about the exceptions that name no loaded policy,
// or no deny rule of it: they waive nothing, and are likely misspelled.
func checkExceptions(xs []Exception, rules []rule) []Result {
	var out []Result
	for _, x := range xs {
		policyKnown, ruleKnown := false, x.Rule == ""
		for _, r := range rules {
			if r.pkg != x.Policy || r.severity != SeverityDeny {
				continue
			}
			policyKnown = true
			ruleKnown = ruleKnown || r.name == x.Rule
		}
		var msg string
		switch {
		case Unwaivable[x.Policy] != "":
			msg = fmt.Sprintf("exception for policy %s is ignored: %s", x.Policy, Unwaivable[x.Policy])
		case !policyKnown:
			msg = fmt.Sprintf("exception for policy %s waives nothing: no policy of that name has deny rules", x.Policy)
		case !ruleKnown:
			msg = fmt.Sprintf("exception for %s rule %s waives nothing: the policy has no deny rule of that name", x.Policy, x.Rule)
		default:
			continue
		}
		out = append(out, exceptionWarning(x, msg))
	}
	return out
}

// exceptionWarning is a warning about exception x.
func exceptionWarning(x Exception, msg string) Result {
	file, line := splitSource(x.Source)
	return Result{
		Policy: exceptionsPolicy, Rule: "warn", Severity: SeverityWarn,
		Object: "Exception/" + x.Policy, Source: file, Line: line, Message: msg,
	}
}

// splitSource splits "file:line".
func splitSource(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	var n int
	if _, err := fmt.Sscanf(s[i+1:], "%d", &n); err != nil {
		return s, 0
	}
	return s[:i], n
}

// exceptionSet applies the exceptions of an Engine in one run.
type exceptionSet struct {
	xs  []Exception
	now time.Time
	// lapsedUsed[i] is set when xs[i] covered a denial but had lapsed.
	lapsedUsed []atomic.Bool
}

func newExceptionSet(xs []Exception, now time.Time) *exceptionSet {
	return &exceptionSet{xs: xs, now: now, lapsedUsed: make([]atomic.Bool, len(xs))}
}

// waive makes the denial res of a rule of package pkg a waived result when
// a Rego exception of the package (regoWaivers) or an Exception covers it
// and has not lapsed.
func (s *exceptionSet) waive(res *Result, pkg string, regoWaivers []regoWaiver) {
	if Unwaivable[pkg] != "" {
		return
	}
	lapsedRego := false
	for _, w := range regoWaivers {
		if !w.covers(res.Rule) {
			continue
		}
		if lapsed(w.waiver.Expires, s.now) {
			lapsedRego = true
			continue
		}
		res.Severity, res.Waived = SeverityWaived, &w.waiver
		return
	}
	for i, x := range s.xs {
		if !x.matches(*res, pkg) {
			continue
		}
		if lapsed(x.Expires, s.now) {
			s.lapsedUsed[i].Store(true)
			continue
		}
		res.Severity = SeverityWaived
		res.Waived = &Waiver{Reason: x.Reason, Expires: x.Expires, By: x.Source}
		return
	}
	if lapsedRego {
		res.Message += " (its Rego exception has expired)"
	}
}

// warnings are the warnings about exceptions that covered a denial but had
// lapsed: the denial is back.
func (s *exceptionSet) warnings() []Result {
	var out []Result
	for i, x := range s.xs {
		if s.lapsedUsed[i].Load() {
			out = append(out, exceptionWarning(x, fmt.Sprintf("exception for %s expired on %s: its denials are back (reason was: %s)",
				x.Policy, x.Expires.UTC().Format(time.RFC3339), x.Reason)))
		}
	}
	return out
}

// regoWaiver is one waiver of a Rego exception rule: the rule suffixes it
// covers and why.
type regoWaiver struct {
	suffixes []string
	waiver   Waiver
}

// covers says whether the waiver covers the rule named name (deny_foo is
// covered by "foo", deny by "").
func (w regoWaiver) covers(name string) bool {
	for _, prefix := range []string{"deny", "violation"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			suffix := strings.TrimPrefix(rest, "_")
			if rest != "" && !strings.HasPrefix(rest, "_") {
				continue
			}
			if slices.Contains(w.suffixes, suffix) {
				return true
			}
		}
	}
	return false
}

// regoWaivers reads the value of the exception rule r for one input: a set
// (or array) whose elements are arrays of rule suffixes, or objects with
// rules, reason and expires. Malformed elements are reported as the
// returned problems.
func (r rule) regoWaivers(v ast.Value) (out []regoWaiver, problems []string) {
	by := "data." + r.pkg + ".exception"
	if r.file != "" {
		by += " in " + r.file
	}
	each := func(t *ast.Term) {
		w := regoWaiver{waiver: Waiver{Reason: "waived by a Rego exception rule", By: by}}
		rules := t.Value
		if o, ok := t.Value.(ast.Object); ok {
			rules = nil
			if x := o.Get(ast.InternedTerm("rules")); x != nil {
				rules = x.Value
			}
			if s := stringField(o, "reason"); s != "" {
				w.waiver.Reason = s
			}
			if s := stringField(o, "expires"); s != "" {
				exp, err := ParseExpiry(s)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: expires: %v", by, err))
					return
				}
				w.waiver.Expires = exp
			}
		}
		add := func(t *ast.Term) {
			if s, ok := t.Value.(ast.String); ok {
				w.suffixes = append(w.suffixes, string(s))
			} else {
				problems = append(problems, fmt.Sprintf("%s: a rule suffix must be a string, not %v", by, t))
			}
		}
		switch rs := rules.(type) {
		case *ast.Array:
			rs.Foreach(add)
		case ast.Set:
			rs.Foreach(add)
		case ast.String:
			add(ast.NewTerm(rs))
		default:
			problems = append(problems, fmt.Sprintf("%s: an element must be an array of rule suffixes or {rules, reason, expires}, not %v", by, t))
			return
		}
		out = append(out, w)
	}
	switch v := v.(type) {
	case ast.Set:
		v.Foreach(each)
	case *ast.Array:
		v.Foreach(each)
	default:
		each(ast.NewTerm(v))
	}
	return out, problems
}

// ParseExpiry reads an exception's expiry: a date (2026-06-30, which lasts
// to the end of that day, UTC) or an RFC 3339 time.
func ParseExpiry(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Nanosecond), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-06-30) nor an RFC 3339 time", s)
	}
	return t, nil
}

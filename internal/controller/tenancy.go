package controller

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/validate"
)

// TenancyPolicy names the tenancy fence in policy results: an intent or
// object for a namespace outside spec.allowedNamespaces.
const TenancyPolicy = "meshintent.tenancy"

// fenceData is the policy data that tells Rego policies the fence:
// data.meshintent.config.allowedNamespaces (empty: any namespace).
func fenceData(allowed []string) map[string]any {
	list := make([]any, len(allowed))
	for i, ns := range allowed {
		list[i] = ns
	}
	return map[string]any{"meshintent": map[string]any{"config": map[string]any{"allowedNamespaces": list}}}
}

// checkFence returns a deny result for every intent and object whose
// namespace (a Namespace's or NamespaceIntent's own name) is not in allowed.
// An empty allowed list fences nothing. Objects generated from an intent
// that is already reported are not reported again. This check is the
// authoritative one: it does not depend on any Rego policy being loaded.
func checkFence(allowed []string, intents []intent.Document, objects manifest.Set) []validate.Result {
	if len(allowed) == 0 {
		return nil
	}
	ok := func(ns string) bool { return ns != "" && slices.Contains(allowed, ns) }
	fence := strings.Join(allowed, ", ")
	var out []validate.Result
	reported := map[string]bool{}
	for _, d := range intents {
		ns, field := "", "metadata.namespace"
		switch {
		case d.NamespaceIntent != nil:
			ns, field = d.NamespaceIntent.Name, "metadata.name"
		case d.ServiceIntent != nil:
			ns = d.ServiceIntent.Namespace
		}
		if ok(ns) {
			continue
		}
		reported[d.ID()] = true
		out = append(out, fenceResult(d.ID(), d.Source, d.Line, field, ns, fence))
	}
	for _, o := range objects {
		ns, field := o.GetNamespace(), "metadata.namespace"
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			ns, field = o.GetName(), "metadata.name"
		}
		if ok(ns) || (o.Intent != "" && reported[o.Intent]) {
			continue
		}
		out = append(out, fenceResult(o.ID(), o.Source, 0, field, ns, fence))
	}
	return out
}

func fenceResult(id, source string, line int, field, ns, fence string) validate.Result {
	msg := fmt.Sprintf("namespace %q is outside this IntentSync's allowedNamespaces [%s]", ns, fence)
	if ns == "" {
		msg = fmt.Sprintf("cluster-scoped objects are outside this IntentSync's allowedNamespaces [%s]", fence)
	}
	return validate.Result{
		Policy: TenancyPolicy, Rule: "deny", Severity: validate.SeverityDeny,
		Object: id, Source: source, Line: line, Field: field, Message: msg,
	}
}

// withFence returns a copy of r with the fence results added, dropping
// Rego results that say the same (same policy, object and source), sorted
// denials first, and recounted.
func withFence(r *validate.Report, fence []validate.Result) *validate.Report {
	out := &validate.Report{}
	if r != nil {
		out.Objects, out.Intents = r.Objects, r.Intents
	}
	seen := map[string]bool{}
	key := func(x validate.Result) string { return x.Policy + "\x00" + x.Object + "\x00" + x.Source }
	for _, x := range fence {
		seen[key(x)] = true
		out.Results = append(out.Results, x)
	}
	if r != nil {
		for _, x := range r.Results {
			if x.Policy == TenancyPolicy && seen[key(x)] {
				continue
			}
			out.Results = append(out.Results, x)
		}
	}
	slices.SortStableFunc(out.Results, func(a, b validate.Result) int {
		return cmp.Or(
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Policy, b.Policy),
		)
	})
	for _, x := range out.Results {
		if x.Severity == validate.SeverityDeny {
			out.Denials++
		} else {
			out.Warnings++
		}
	}
	return out
}

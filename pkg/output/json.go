package output

import (
	"encoding/json"
	"io"
	"time"

	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/validate"
)

// APIVersion is the version of the JSON documents written by -o json. A
// change that removes or renames a field, or changes its meaning, takes a
// new version; new fields may be added within one.
const APIVersion = "meshintent.io/v1"

// Kinds of JSON documents.
const (
	KindValidateResult = "ValidateResult"
	KindPlanResult     = "PlanResult"
)

// ValidateResult is the JSON document of `reconciler validate -o json`:
//
//	{
//	  "apiVersion": "meshintent.io/v1",
//	  "kind": "ValidateResult",
//	  "revision": "main@sha1:…",        // or "local"
//	  "path": "overlays/prod",
//	  "objects": 11, "intents": 6,      // what was evaluated
//	  "denied": true, "denials": 1, "warnings": 0, "waived": 1,
//	  "results": [{                     // denials first, then warnings, then waived; each by file, object, policy
//	    "severity": "deny",             // deny | warn | waived (other values: not blocking)
//	    "policy": "meshintent.weights", "rule": "deny",
//	    "policyFile": "builtin/weights.rego",
//	    "object": "VirtualService/bookinfo/reviews",
//	    "field": "spec.http[3].route",
//	    "message": "weights sum to 90, not 100",
//	    "source": "base/reviews.yaml", "line": 52,   // the intent line that produced the field
//	    "locations": [                  // source:line first, then the overlay patches that set it
//	      {"file": "base/reviews.yaml", "line": 52},
//	      {"file": "overlays/prod/reviews.yaml", "line": 9}
//	    ]
//	  }, {
//	    "severity": "waived", …,
//	    "waived": {"reason": "canary until the 31st", "expires": "2026-03-31T00:00:00Z",
//	               "by": "meshintent.yaml:12"}   // only on waived results
//	  }]
//	}
//
// Empty lists are [] and never null; "line" is left out when unknown, as
// are a waiver's "expires" when it does not lapse and "by" when unknown.
type ValidateResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	PolicyReport
}

// PolicyReport is a policy verdict: ValidateResult's body and
// PlanResult's "policy".
type PolicyReport struct {
	Revision string `json:"revision"`
	Path     string `json:"path"`
	Objects  int    `json:"objects"`
	Intents  int    `json:"intents"`
	Denied   bool   `json:"denied"`
	Denials  int    `json:"denials"`
	Warnings int    `json:"warnings"`
	// Waived counts the denials an exception waives (results of severity
	// waived); they do not make Denied.
	Waived  int       `json:"waived"`
	Results []Finding `json:"results"`
}

// Finding is one policy result.
type Finding struct {
	Severity   string `json:"severity"`
	Policy     string `json:"policy"`
	Rule       string `json:"rule"`
	PolicyFile string `json:"policyFile,omitempty"`
	Object     string `json:"object"`
	Field      string `json:"field,omitempty"`
	// Code is the Istio analyzer message code the check stands for, e.g.
	// IST0101; empty when it has none.
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	// Source and Line are the first of Locations, kept for readers of the
	// earlier shape.
	Source    string     `json:"source,omitempty"`
	Line      int        `json:"line,omitempty"`
	Locations []Location `json:"locations"`
	// Waived says why a result of severity waived is waived; nil
	// otherwise.
	Waived *Waiver `json:"waived,omitempty"`
}

// Waiver is the exception that waives a denial.
type Waiver struct {
	// Reason is the exception's reason.
	Reason string `json:"reason"`
	// Expires is when the exception lapses (the denial is back then);
	// left out when it does not.
	Expires time.Time `json:"expires,omitzero"`
	// By locates the exception: "meshintent.yaml:12", or the Rego
	// exception rule and its file; left out when unknown.
	By string `json:"by,omitempty"`
}

// Location is a place in the repository.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// AfterOverlays is true when the file declares the object but an
	// overlay changed this value.
	AfterOverlays bool `json:"afterOverlays,omitempty"`
}

// PlanResult is the JSON document of `reconciler plan -o json`:
//
//	{
//	  "apiVersion": "meshintent.io/v1",
//	  "kind": "PlanResult",
//	  "path": "overlays/prod", "base": "main@sha1:…", "head": "feature@sha1:…",
//	  "summary": {"added": 1, "changed": 2, "removed": 0, "unchanged": 8},
//	  "changes": [{"id": "VirtualService/bookinfo/reviews", "kind": "VirtualService",
//	               "namespace": "bookinfo", "name": "reviews", "action": "changed",
//	               "source": "base/reviews.yaml", "diff": "--- base/…\n+++ head/…\n…"}],
//	  "policy": { …the body of a ValidateResult, for head… },
//	  "denied": false, "warnings": 0, "waived": 0,
//	  "live": {"actions": […], "rejected": […], "drift": {…}}   // only with --kubeconfig
//	}
type PlanResult struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Path       string        `json:"path"`
	Base       string        `json:"base"`
	Head       string        `json:"head"`
	Summary    plan.Summary  `json:"summary"`
	Changes    []plan.Change `json:"changes"`
	Policy     PolicyReport  `json:"policy"`
	Denied     bool          `json:"denied"`
	Warnings   int           `json:"warnings"`
	Waived     int           `json:"waived"`
	Live       *Live         `json:"live,omitempty"`
}

func policyReport(revision, path string, rep *validate.Report) PolicyReport {
	out := PolicyReport{
		Revision: revision, Path: path, Objects: rep.Objects, Intents: rep.Intents,
		Denied: rep.Denied(), Denials: rep.Denials, Warnings: rep.Warnings,
		Waived: rep.Waived, Results: make([]Finding, 0, len(rep.Results)),
	}
	for _, r := range rep.Results {
		f := Finding{
			Severity: string(r.Severity), Policy: r.Policy, Rule: r.Rule, PolicyFile: r.PolicyFile,
			Object: r.Object, Field: r.Field, Code: r.Code, Message: r.Message, Source: r.Source, Line: r.Line,
			Locations: []Location{},
		}
		for _, l := range Locations(r) {
			f.Locations = append(f.Locations, Location{File: l.File, Line: l.Line, AfterOverlays: l.AfterOverlays})
		}
		if w := r.Waived; w != nil {
			f.Waived = &Waiver{Reason: w.Reason, Expires: w.Expires.UTC(), By: w.By}
		}
		out.Results = append(out.Results, f)
	}
	return out
}

func validateJSON(v Validation) ValidateResult {
	return ValidateResult{APIVersion: APIVersion, Kind: KindValidateResult, PolicyReport: policyReport(v.Revision, v.Path, v.Report)}
}

func planJSON(p Plan) PlanResult {
	changes := p.Changes
	if changes == nil {
		changes = []plan.Change{}
	}
	return PlanResult{
		APIVersion: APIVersion, Kind: KindPlanResult,
		Path: p.Path, Base: p.Base, Head: p.Head, Summary: p.Summary, Changes: changes,
		Policy: policyReport(p.Head, p.Path, p.Report),
		Denied: p.Report.Denied(), Warnings: p.Report.Warnings, Waived: p.Report.Waived, Live: p.Live,
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

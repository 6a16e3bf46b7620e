// Package output writes the results of `reconciler validate` and
// `reconciler plan` in the formats CI systems read: a size-capped Markdown
// pull-request comment, GitHub Actions workflow commands, SARIF 2.1.0 for
// code scanning, JUnit XML for GitLab and Jenkins test reports, and a
// versioned JSON document. Every policy finding carries the intent file and
// line that produced it and the overlay patches that set its value (see
// validate.Result.Line and Related).
//
// Text from the repository (names, messages, paths, diffs) is untrusted: each
// writer escapes it for its format (Markdown through pkg/markdown,
// workflow commands by their percent-encoding, XML and JSON by their
// encoders).
package output

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/validate"
)

// Format is an output format.
type Format string

// Formats. Text is written by the CLI itself.
const (
	Text     Format = "text"
	JSON     Format = "json"
	Markdown Format = "markdown"
	GitHub   Format = "github"
	SARIF    Format = "sarif"
	JUnit    Format = "junit"
)

// Formats lists the machine formats this package writes, for flag help.
var Formats = []Format{JSON, Markdown, GitHub, SARIF, JUnit}

// Validation is a validate run to write.
type Validation struct {
	// Revision is the commit validated ("main@sha1:…") or "local"; Path the
	// kustomization's path in the repository.
	Revision, Path string
	Report         *validate.Report
}

// Plan is a plan (see package plan) to write.
type Plan struct {
	// Path is the kustomization's path; Base and Head the two revisions.
	Path, Base, Head string
	Summary          plan.Summary
	Changes          []plan.Change
	// Report is head's policy verdict.
	Report *validate.Report
	// Live is head compared with the cluster; nil without a cluster.
	Live *Live
}

// Live is what applying head would do to the live cluster: the server-side
// dry-run's actions (the API server validates every object), the objects it
// rejected, and the fields that differ live.
type Live struct {
	Actions  []apply.ChangeSetEntry `json:"actions"`
	Rejected []string               `json:"rejected,omitempty"`
	Drift    *apply.Report          `json:"drift"`
}

// Options tune the writers.
type Options struct {
	// PathPrefix is put before every repository file named in GitHub
	// workflow commands, SARIF and JUnit, for when the intent repository's
	// root is a directory of the Git repository that CI checked out (e.g.
	// "deploy/mesh"). Empty when they are the same.
	PathPrefix string
	// MaxMarkdown caps a Markdown comment, in bytes (so also in
	// characters); 0 means MaxComment, negative means no cap (the full
	// plan, for an artifact).
	MaxMarkdown int
	// Descriptions are policy descriptions by policy name, for SARIF rules
	// and JUnit; see Describe.
	Descriptions map[string]string
	// ToolVersion is the reconciler's version, for SARIF.
	ToolVersion string
}

// MaxComment is the largest body GitHub accepts for a pull-request comment,
// in characters.
const MaxComment = 65536

// WriteValidation writes v in format f.
func WriteValidation(w io.Writer, f Format, v Validation, opts Options) error {
	switch f {
	case JSON:
		return writeJSON(w, validateJSON(v))
	case Markdown:
		return writeValidationMarkdown(w, v, opts)
	}
	return writeVerdict(w, f, "meshintent validate "+v.Path, v.Report, opts)
}

// WritePlan writes p in format f.
func WritePlan(w io.Writer, f Format, p Plan, opts Options) error {
	switch f {
	case JSON:
		return writeJSON(w, planJSON(p))
	case Markdown:
		return writePlanMarkdown(w, p, opts)
	case GitHub:
		if err := writeVerdict(w, f, "", p.Report, opts); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "::notice title=%s::%s\n", escapeProperty("meshintent plan "+p.Path),
			escapeData(fmt.Sprintf("%d added, %d changed, %d removed, %d unchanged; %d denied, %s, %d waived",
				p.Summary.Added, p.Summary.Changed, p.Summary.Removed, p.Summary.Unchanged, p.Report.Denials,
				plural(p.Report.Warnings, "warning"), p.Report.Waived)))
		return err
	}
	return writeVerdict(w, f, "meshintent plan "+p.Path, p.Report, opts)
}

// writeVerdict writes the formats that show the policy verdict alone:
// GitHub annotations, SARIF and JUnit (a test suite named suite).
func writeVerdict(w io.Writer, f Format, suite string, rep *validate.Report, opts Options) error {
	switch f {
	case GitHub:
		return writeGitHub(w, rep.Results, opts)
	case SARIF:
		return writeSARIF(w, rep.Results, opts)
	case JUnit:
		return writeJUnit(w, suite, rep, opts)
	}
	return fmt.Errorf("output format %q is not written by package output", f)
}

// Locations returns where r's field is written: its Source and Line first
// (when it has a Source), then r.Related.
func Locations(r validate.Result) []intent.Location {
	var out []intent.Location
	if r.Source != "" {
		out = append(out, intent.Location{File: r.Source, Line: r.Line})
	}
	return append(out, r.Related...)
}

// Where formats a location for people: "file:line", or "file" without a
// line.
func Where(l intent.Location) string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}

// level is a result's weight for CI: "deny" and "warn" as they are; a
// waived denial (and any other severity) is a note that blocks nothing,
// shown with its waiver (see waiverText).
type level int

const (
	levelDeny level = iota
	levelWarn
	levelNote
)

func levelOf(r validate.Result) level {
	switch r.Severity {
	case validate.SeverityDeny:
		return levelDeny
	case validate.SeverityWarn:
		return levelWarn
	}
	return levelNote
}

// waiverText says why r is waived, for people: "until 2026-03-31 by
// meshintent.yaml:12: canary in progress", leaving out the expiry when the
// exception does not lapse and the author when unknown. Empty when r has
// no waiver.
func waiverText(r validate.Result) string {
	w := r.Waived
	if w == nil {
		return ""
	}
	var parts []string
	if !w.Expires.IsZero() {
		parts = append(parts, "until "+expiry(w.Expires))
	}
	if w.By != "" {
		parts = append(parts, "by "+w.By)
	}
	s := strings.Join(parts, " ")
	if w.Reason != "" {
		if s != "" {
			s += ": "
		}
		s += w.Reason
	}
	return oneLine(s)
}

// expiry formats an exception's expiry: the date alone when it is
// midnight UTC (how a date-only expiry is read), else RFC 3339.
func expiry(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

func prefixed(prefix, file string) string {
	if prefix == "" || file == "" {
		return file
	}
	return path.Join(prefix, file)
}

// policyNames returns the distinct policies of rs, sorted.
func policyNames(rs []validate.Result) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if !seen[r.Policy] {
			seen[r.Policy] = true
			out = append(out, r.Policy)
		}
	}
	sort.Strings(out)
	return out
}

// title is a result's one-line heading: policy, object and field.
func title(r validate.Result) string {
	t := r.Policy + ": " + r.Object
	if r.Field != "" {
		t += " " + r.Field
	}
	return t
}

// plural is "1 warning", "2 warnings": n and word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

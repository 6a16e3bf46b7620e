package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meshintent/meshintent/pkg/markdown"
)

// valueLimit caps a value in a Markdown cell or a Slack line; the JSON
// report always has it whole.
const valueLimit = 200

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.normalized())
}

// normalized returns r with nil lists made empty, so JSON has [] not null
// for a Report built by hand.
func (r *Report) normalized() *Report {
	c := *r
	c.Report = r.Report.WithLists()
	if c.Conflicts == nil {
		c.Conflicts = []Conflict{}
	}
	return &c
}

// WriteMarkdown writes the report for humans: a headline with the summary,
// the report's facts (IntentSync, source, revision, times), then a table per
// kind of finding: drifted fields, missing objects, unmanaged mesh objects
// (Kiali wizard ones flagged), conflicts with other field managers, stale
// objects, and notes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	title := "Drift report"
	if r.IntentSync != "" {
		title += ": " + r.IntentSync
	}
	ew.printf("# %s\n\n", markdown.Inline(title))
	if r.Clean() {
		ew.printf("**In sync**: the cluster matches revision %s.\n", markdown.Code(orUnknown(r.Revision)))
	} else {
		ew.printf("**%s**\n", markdown.Inline(capitalize(r.Line())))
	}

	ew.printf("\n| | |\n|---|---|\n")
	if r.IntentSync != "" {
		ew.printf("| IntentSync | %s |\n", markdown.Code(r.IntentSync))
	}
	if r.Source != "" {
		ew.printf("| Source | %s |\n", markdown.Code(r.Source))
	}
	ew.printf("| Last applied revision | %s |\n", markdown.Code(orUnknown(r.Revision)))
	if r.AppliedAt != nil {
		ew.printf("| Last applied | %s |\n", formatTime(*r.AppliedAt))
	}
	ew.printf("| Generated | %s |\n", formatTime(r.GeneratedAt))
	if r.ConfigMap != "" {
		ew.printf("| ConfigMap | %s |\n", markdown.Code(r.ConfigMap))
	}
	s := r.Summary
	ew.printf("\n| Finding | Count |\n|---|---|\n")
	ew.printf("| Drifted fields | %d |\n| Missing objects | %d |\n| Unmanaged mesh objects | %d |\n| Kiali wizard objects | %d |\n| Fields owned by other managers | %d |\n| Stale objects | %d |\n",
		s.Drifted, s.Missing, s.Unmanaged, s.KialiWizard, s.Conflicts, s.Stale)

	if len(r.Drifted) > 0 {
		ew.printf("\n## Drifted fields\n\nFields set in Git whose live value differs.\n\n| Object | Field | Want | Have | Manager |\n|---|---|---|---|---|\n")
		for _, d := range r.Drifted {
			ew.printf("| %s | %s | %s | %s | %s |\n", markdown.Code(d.ID), markdown.Code(d.Path),
				markdown.Code(markdown.Value(d.Want, valueLimit)), markdown.Code(markdown.Value(d.Have, valueLimit)), markdown.Code(d.Manager))
		}
	}
	if len(r.Missing) > 0 {
		ew.printf("\n## Missing objects\n\nObjects of the revision that do not exist in the cluster.\n\n| Object | Source |\n|---|---|\n")
		for _, o := range r.Missing {
			ew.printf("| %s | %s |\n", markdown.Code(o.ID), markdown.Code(o.Source))
		}
	}
	if len(r.Unmanaged) > 0 {
		ew.printf("\n## Unmanaged mesh objects\n\nIstio objects in managed namespaces that are not managed through Git.\n\n| Object | Kiali wizard | Managers | Reason |\n|---|---|---|---|\n")
		for _, u := range r.Unmanaged {
			wizard := ""
			if u.KialiWizard != "" {
				wizard = "⚠ " + markdown.Code(u.KialiWizard)
			}
			ew.printf("| %s | %s | %s | %s |\n", markdown.Code(u.ID), wizard, markdown.Code(strings.Join(u.Managers, ", ")), markdown.Inline(u.Reason))
		}
	}
	if len(r.Conflicts) > 0 {
		ew.printf("\n## Conflicts with other field managers\n\nFields other managers own with values other than Git's: an apply without force fails on them.\n\n| Object | Field | Manager |\n|---|---|---|\n")
		for _, c := range r.Conflicts {
			ew.printf("| %s | %s | %s |\n", markdown.Code(c.ID), markdown.Code(c.Field), markdown.Code(c.Manager))
		}
	}
	if len(r.Stale) > 0 {
		ew.printf("\n## Stale objects\n\nObjects applied earlier that left Git; the next apply with prune deletes them.\n\n| Object | Source |\n|---|---|\n")
		for _, o := range r.Stale {
			ew.printf("| %s | %s |\n", markdown.Code(o.ID), markdown.Code(o.Source))
		}
	}
	if len(r.Notes) > 0 {
		ew.printf("\n## Notes\n\n")
		for _, n := range r.Notes {
			ew.printf("- %s\n", markdown.Inline(oneLine(n)))
		}
	}
	return ew.err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

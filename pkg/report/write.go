package report

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/meshintent/meshintent/pkg/apply"
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
	ew := markdown.NewWriter(w)
	title := "Drift report"
	if r.IntentSync != "" {
		title += ": " + r.IntentSync
	}
	ew.Printf("# %s\n\n", markdown.Inline(title))
	if r.Clean() {
		ew.Printf("**In sync**: the cluster matches revision %s.\n", markdown.Code(orUnknown(r.Revision)))
	} else {
		ew.Printf("**%s**\n", markdown.Inline(capitalize(r.Line())))
	}

	ew.Printf("\n| | |\n|---|---|\n")
	if r.IntentSync != "" {
		ew.Printf("| IntentSync | %s |\n", markdown.Code(r.IntentSync))
	}
	if r.Source != "" {
		ew.Printf("| Source | %s |\n", markdown.Code(r.Source))
	}
	ew.Printf("| Last applied revision | %s |\n", markdown.Code(orUnknown(r.Revision)))
	if r.AppliedAt != nil {
		ew.Printf("| Last applied | %s |\n", formatTime(*r.AppliedAt))
	}
	ew.Printf("| Generated | %s |\n", formatTime(r.GeneratedAt))
	if r.ConfigMap != "" {
		ew.Printf("| ConfigMap | %s |\n", markdown.Code(r.ConfigMap))
	}
	s := r.Summary
	ew.Printf("\n| Finding | Count |\n|---|---|\n")
	ew.Printf("| Drifted fields | %d |\n| Missing objects | %d |\n| Unmanaged mesh objects | %d |\n| Kiali wizard objects | %d |\n| Fields owned by other managers | %d |\n| Stale objects | %d |\n",
		s.Drifted, s.Missing, s.Unmanaged, s.KialiWizard, s.Conflicts, s.Stale)

	if len(r.Drifted) > 0 {
		ew.Printf("\n## Drifted fields\n\nFields set in Git whose live value differs.\n\n")
		ew.Table("Object", "Field", "Want", "Have", "Manager")
		for _, d := range r.Drifted {
			ew.Row(markdown.Code(d.ID), markdown.Code(d.Path),
				markdown.Code(markdown.Value(d.Want, valueLimit)), markdown.Code(markdown.Value(d.Have, valueLimit)), markdown.Code(d.Manager))
		}
	}
	apply.WriteObjectTable(ew, "\n## Missing objects\n\nObjects of the revision that do not exist in the cluster.\n\n", r.Missing)
	if len(r.Unmanaged) > 0 {
		ew.Printf("\n## Unmanaged mesh objects\n\nIstio objects in managed namespaces that are not managed through Git.\n\n")
		ew.Table("Object", "Kiali wizard", "Managers", "Reason")
		for _, u := range r.Unmanaged {
			wizard := ""
			if u.KialiWizard != "" {
				wizard = "⚠ " + markdown.Code(u.KialiWizard)
			}
			ew.Row(markdown.Code(u.ID), wizard, markdown.Code(strings.Join(u.Managers, ", ")), markdown.Inline(u.Reason))
		}
	}
	if len(r.Conflicts) > 0 {
		ew.Printf("\n## Conflicts with other field managers\n\nFields other managers own with values other than Git's: an apply without force fails on them.\n\n")
		ew.Table("Object", "Field", "Manager")
		for _, c := range r.Conflicts {
			ew.Row(markdown.Code(c.ID), markdown.Code(c.Field), markdown.Code(c.Manager))
		}
	}
	apply.WriteObjectTable(ew, "\n## Stale objects\n\nObjects applied earlier that left Git; the next apply with prune deletes them.\n\n", r.Stale)
	if len(r.Notes) > 0 {
		ew.Printf("\n## Notes\n\n")
		for _, n := range r.Notes {
			ew.Printf("- %s\n", markdown.Inline(oneLine(n)))
		}
	}
	return ew.Err()
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

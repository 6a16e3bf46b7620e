package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/meshintent/meshintent/pkg/markdown"
	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/validate"
)

// budget is a Markdown document that keeps within a size: sections are
// added while they fit, and the room for the lines that say what was left
// out is reserved up front.
type budget struct {
	b strings.Builder
	// limit is the size the document may reach, reserve the part of it
	// kept for the closing lines; limit < 0 means no cap.
	limit, reserve int
}

// reserveFor is the room kept for each "N more …" line.
const reserveFor = 160

func newBudget(max, sections int) *budget {
	switch {
	case max == 0:
		max = MaxComment
	case max < 0:
		return &budget{limit: -1}
	}
	return &budget{limit: max, reserve: sections * reserveFor}
}

// fits says whether s can be added and keep the reserve.
func (b *budget) fits(s string) bool {
	return b.limit < 0 || b.b.Len()+len(s)+b.reserve <= b.limit
}

// add writes s when it fits and says whether it did.
func (b *budget) add(s string) bool {
	if !b.fits(s) {
		return false
	}
	b.b.WriteString(s)
	return true
}

// must writes s whatever the budget (the summary, and the closing lines
// from the reserve).
func (b *budget) must(s string) { b.b.WriteString(s) }

// release gives back one section's reserve, for its closing line.
func (b *budget) release() {
	if b.reserve >= reserveFor {
		b.reserve -= reserveFor
	}
}

// resultsTable adds the policy results as a table, as many rows as fit,
// and a line counting the rest.
func resultsTable(b *budget, rs []validate.Result, artifact string) {
	if len(rs) == 0 {
		b.release()
		return
	}
	b.must("#### Policy results\n\n| | policy | object | where | message |\n|---|---|---|---|---|\n")
	left := 0
	for i, r := range rs {
		if !b.add(resultRow(r)) {
			left = len(rs) - i
			break
		}
	}
	b.release()
	if left > 0 {
		b.must(fmt.Sprintf("\n**%d more policy results** — %s.\n", left, artifact))
	}
	b.must("\n")
}

func resultRow(r validate.Result) string {
	icon := "ℹ️ " + markdown.Inline(string(r.Severity))
	msg := markdown.Inline(r.Message)
	if r.Severity == validate.SeverityWaived {
		icon = "⏸️ waived"
		if w := waiverText(r); w != "" {
			msg += "<br>*waived " + markdown.Inline(w) + "*"
		}
	}
	switch levelOf(r) {
	case levelDeny:
		icon = "❌ deny"
	case levelWarn:
		icon = "⚠️ warn"
	}
	var where []string
	for i, l := range Locations(r) {
		w := markdown.Code(Where(l))
		if i > 0 {
			w += " (overlay)"
		}
		where = append(where, w)
	}
	if r.Field != "" {
		where = append(where, markdown.Code(r.Field))
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", icon, markdown.Code(r.Policy), markdown.Code(r.Object),
		strings.Join(where, "<br>"), msg)
}

// writeValidationMarkdown writes a validate run as a pull-request comment:
// the verdict and counts, then the results table, capped as plans are.
func writeValidationMarkdown(w io.Writer, v Validation, opts Options) error {
	b := newBudget(opts.MaxMarkdown, 1)
	rep := v.Report
	verdict := "✅ passes policy"
	if rep.Denied() {
		verdict = "❌ denied by policy"
	}
	b.must(fmt.Sprintf("### meshintent validate: %s %s\n\n", markdown.Code(v.Path), verdict))
	b.must(fmt.Sprintf("%s\n\n", markdown.Code(v.Revision)))
	b.must("| objects | intents | denied | warnings | waived |\n|---:|---:|---:|---:|---:|\n")
	b.must(fmt.Sprintf("| %d | %d | %d | %d | %d |\n\n", rep.Objects, rep.Intents, rep.Denials, rep.Warnings, rep.Waived))
	resultsTable(b, rep.Results, "see the full report (`--output-file`)")
	_, err := io.WriteString(w, b.b.String())
	return err
}

// writePlanMarkdown writes a plan as a pull-request comment that fits
// opts.MaxMarkdown (GitHub's 65,536 characters by default): the summary
// always (verdict, revisions, counts), then as much as fits, in this
// order, each section cut with a line saying how much was left out: the
// policy results, the live cluster's dry-run, the traffic diagram of each
// changed VirtualService, and the diff of each changed object collapsed in
// a <details>. With MaxMarkdown < 0 nothing is cut (the artifact).
func writePlanMarkdown(w io.Writer, p Plan, opts Options) error {
	b := newBudget(opts.MaxMarkdown, 3)
	const artifact = "see the full plan artifact"
	verdict := "✅ passes policy"
	if p.Report.Denied() {
		verdict = "❌ denied by policy"
	}
	b.must(fmt.Sprintf("### meshintent plan: %s %s\n\n", markdown.Code(p.Path), verdict))
	b.must(fmt.Sprintf("%s → %s\n\n", markdown.Code(p.Base), markdown.Code(p.Head)))
	b.must("| added | changed | removed | unchanged | denied | warnings | waived |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	b.must(fmt.Sprintf("| %d | %d | %d | %d | %d | %d | %d |\n\n", p.Summary.Added, p.Summary.Changed, p.Summary.Removed,
		p.Summary.Unchanged, p.Report.Denials, p.Report.Warnings, p.Report.Waived))

	resultsTable(b, p.Report.Results, artifact)

	if p.Live != nil {
		var live strings.Builder
		live.WriteString("#### Live cluster (server-side dry-run of head)\n\n")
		for _, r := range p.Live.Rejected {
			fmt.Fprintf(&live, "- ❌ rejected by the API server: %s\n", markdown.Inline(r))
		}
		for _, e := range p.Live.Actions {
			fmt.Fprintf(&live, "- %s %s\n", markdown.Inline(string(e.Action)), markdown.Code(e.ID))
		}
		if len(p.Live.Rejected) == 0 && len(p.Live.Actions) == 0 {
			live.WriteString("- no changes\n")
		}
		live.WriteString("\n")
		if p.Live.Drift != nil {
			if err := p.Live.Drift.WriteMarkdown(&live); err != nil {
				return err
			}
			live.WriteString("\n")
		}
		if !b.add(live.String()) {
			b.must("#### Live cluster\n\nToo large for this comment — " + artifact + ".\n\n")
		}
	}

	// Traffic diagrams, one per changed VirtualService.
	var diagrams []string
	for _, c := range p.Changes {
		if c.Kind != "VirtualService" {
			continue
		}
		if d := plan.TrafficDiagram(c.Base, c.Head); d != "" {
			diagrams = append(diagrams, "<details open><summary>Traffic of <code>"+markdown.HTML(c.ID)+"</code> ("+
				markdown.HTML(string(c.Action))+")</summary>\n\n"+markdown.Fence("mermaid", d)+"\n</details>\n\n")
		}
	}
	if len(diagrams) > 0 {
		b.must("#### Traffic\n\n")
		left := 0
		for i, d := range diagrams {
			if !b.add(d) {
				left = len(diagrams) - i
				break
			}
		}
		b.release()
		if left > 0 {
			b.must(fmt.Sprintf("**%d more traffic diagrams** — %s.\n\n", left, artifact))
		}
	} else {
		b.release()
	}

	if len(p.Changes) > 0 {
		b.must("#### Changes\n\n")
	}
	left := 0
	for i, c := range p.Changes {
		if !b.add(changeDetails(c)) {
			left = len(p.Changes) - i
			break
		}
	}
	b.release()
	if left > 0 {
		b.must(fmt.Sprintf("**%d more objects** — %s.\n", left, artifact))
	}
	_, err := io.WriteString(w, b.b.String())
	return err
}

// changeDetails is one changed object, its diff collapsed.
func changeDetails(c plan.Change) string {
	summary := "<b>" + markdown.HTML(string(c.Action)) + "</b> <code>" + markdown.HTML(c.ID) + "</code>"
	if c.Source != "" {
		summary += " from <code>" + markdown.HTML(c.Source) + "</code>"
	}
	return "<details><summary>" + summary + "</summary>\n\n" + markdown.Fence("diff", c.Diff) + "\n</details>\n\n"
}

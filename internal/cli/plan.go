package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/internal/markdown"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/validate"
)

func newPlanCommand(a *app) *cobra.Command {
	var (
		in         inputFlags
		cl         clusterFlags
		base, head string
		output     string
	)
	cmd := &cobra.Command{
		Use:   "plan [REPO_DIR] --base REF --head REF",
		Short: "Show what merging head into base changes in the rendered objects, and head's policy results",
		Long: `plan renders the path at two revisions of a Git repository (a local clone or
--repo URL), lists the objects added, changed and removed with a diff of each,
and runs the policy gate over head. Exit 0 when head passes, 1 when a deny
policy matches, 2 on bad input or a failed fetch.`,
		Example: `  reconciler plan . --base origin/main --head HEAD --path overlays/prod -o markdown
  reconciler plan --repo https://git.example.com/mesh.git --base main --head feature/canary`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "markdown", "json"); err != nil {
				return err
			}
			switch {
			case base == "" || head == "":
				return usageError(errors.New("plan needs --base and --head"))
			case in.repo != "" && len(args) > 0:
				return usageError(errors.New("give either a local repository or --repo, not both"))
			case in.repo == "" && len(args) == 0:
				return usageError(errors.New("give a local repository or --repo URL"))
			case in.repo == "":
				in.repo = args[0]
			}
			ctx := cmd.Context()
			baseTree, err := in.fetch(ctx, base)
			if err != nil {
				return fmt.Errorf("base %s: %w", base, err)
			}
			headTree, err := in.fetch(ctx, head)
			if err != nil {
				return fmt.Errorf("head %s: %w", head, err)
			}
			baseOut, err := in.build(ctx, baseTree, false)
			if err != nil {
				return fmt.Errorf("base %s: %w", base, err)
			}
			headOut, err := in.build(ctx, headTree, true)
			if err != nil {
				return fmt.Errorf("head %s: %w", head, err)
			}
			changes, sum, err := plan.Compare(baseOut.Render.Objects, headOut.Render.Objects)
			if err != nil {
				return err
			}
			p := planView{
				Path: headTree.Path, Base: baseTree.Revision, Head: headTree.Revision,
				Summary: sum, Changes: changes, Report: headOut.Report,
			}
			if cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context") {
				if p.Live, err = liveDiff(cmd, cl, headOut.Render.Objects, headTree.Revision, headOut.Config.Ignore); err != nil {
					return err
				}
			}
			switch output {
			case "json":
				err = writeJSON(a.stdout, p.json())
			case "markdown":
				err = p.writeMarkdown(a.stdout)
			default:
				err = p.writeText(a.stdout)
			}
			if err != nil {
				return err
			}
			if headOut.Report.Denied() {
				return denied()
			}
			return nil
		},
	}
	in.register(cmd, false)
	cl.register(cmd)
	cmd.Flags().StringVar(&base, "base", "", "base revision: branch, tag or commit (required)")
	cmd.Flags().StringVar(&head, "head", "", "head revision: branch, tag or commit (required)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, markdown or json")
	return cmd
}

// planView is a computed plan ready to print.
type planView struct {
	Path, Base, Head string
	Summary          plan.Summary
	Changes          []plan.Change
	Report           *validate.Report
	// Live is the head compared with the cluster; nil without --kubeconfig.
	Live *liveView
}

// liveView is what applying head would do to the live cluster: the
// server-side dry-run's actions (the API server validates every object) and
// the fields that differ live.
type liveView struct {
	Actions  []apply.ChangeSetEntry `json:"actions"`
	Rejected []string               `json:"rejected,omitempty"`
	Drift    *apply.Report          `json:"drift"`
}

// liveDiff dry-runs head against the cluster (with prune, to show what
// would be deleted) and compares it field by field with the live objects.
func liveDiff(cmd *cobra.Command, cl clusterFlags, set manifest.Set, revision string, ignore []apply.IgnoreRule) (*liveView, error) {
	m, err := cl.manager()
	if err != nil {
		return nil, err
	}
	lv := &liveView{}
	res, err := m.Apply(cmd.Context(), set, apply.ApplyOptions{
		DryRun: true, Prune: true, Inventory: cl.inventory, Revision: revision,
	})
	var dr *apply.DryRunError
	switch {
	case errors.As(err, &dr):
		for _, f := range dr.Failures {
			lv.Rejected = append(lv.Rejected, f.Error())
		}
	case err != nil:
		return nil, fmt.Errorf("live dry-run: %w", err)
	default:
		for _, e := range res.ChangeSet.Entries {
			if e.Action != apply.Unchanged {
				lv.Actions = append(lv.Actions, e)
			}
		}
	}
	dopts := apply.DefaultDriftOptions()
	dopts.Inventory = cl.inventory
	dopts.Ignore = append(dopts.Ignore, ignore...)
	if lv.Drift, err = m.Drift(cmd.Context(), set, dopts); err != nil {
		return nil, fmt.Errorf("live diff: %w", err)
	}
	return lv, nil
}

type planJSON struct {
	Path     string         `json:"path"`
	Base     string         `json:"base"`
	Head     string         `json:"head"`
	Summary  plan.Summary   `json:"summary"`
	Changes  []plan.Change  `json:"changes"`
	Policy   validationJSON `json:"policy"`
	Denied   bool           `json:"denied"`
	Warnings int            `json:"warnings"`
	Live     *liveView      `json:"live,omitempty"`
}

func (p planView) json() planJSON {
	changes := p.Changes
	if changes == nil {
		changes = []plan.Change{}
	}
	return planJSON{
		Path: p.Path, Base: p.Base, Head: p.Head, Summary: p.Summary, Changes: changes,
		Policy: validationJSON{
			Revision: p.Head, Path: p.Path, Objects: p.Report.Objects, Intents: p.Report.Intents,
			Denied: p.Report.Denied(), Denials: p.Report.Denials, Warnings: p.Report.Warnings,
			Results: resultsJSON(p.Report.Results),
		},
		Denied: p.Report.Denied(), Warnings: p.Report.Warnings,
		Live: p.Live,
	}
}

func (p planView) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for %s: %s -> %s\n", p.Path, p.Base, p.Head)
	fmt.Fprintf(&b, "%d added, %d changed, %d removed, %d unchanged\n\n",
		p.Summary.Added, p.Summary.Changed, p.Summary.Removed, p.Summary.Unchanged)
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "%s %s", strings.ToUpper(string(c.Action)), c.ID)
		if c.Source != "" {
			fmt.Fprintf(&b, " (%s)", c.Source)
		}
		b.WriteString("\n")
		b.WriteString(indent(c.Diff, "    "))
		b.WriteString("\n")
	}
	if p.Live != nil {
		b.WriteString("live cluster (server-side dry-run of head):\n")
		for _, r := range p.Live.Rejected {
			fmt.Fprintf(&b, "    REJECTED %s\n", r)
		}
		for _, e := range p.Live.Actions {
			fmt.Fprintf(&b, "    %s\n", e.String())
		}
		if len(p.Live.Rejected) == 0 && len(p.Live.Actions) == 0 {
			b.WriteString("    no changes\n")
		}
		var d strings.Builder
		if err := p.Live.Drift.WriteText(&d); err != nil {
			return err
		}
		b.WriteString(indent(d.String(), "    "))
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeResultsText(w, p.Report)
}

func (p planView) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	verdict := "✅ passes policy"
	if p.Report.Denied() {
		verdict = "❌ denied by policy"
	}
	fmt.Fprintf(&b, "### meshintent plan: `%s` %s\n\n", p.Path, verdict)
	fmt.Fprintf(&b, "`%s` → `%s`\n\n", p.Base, p.Head)
	b.WriteString("| added | changed | removed | unchanged | denied | warnings |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d |\n\n", p.Summary.Added, p.Summary.Changed, p.Summary.Removed,
		p.Summary.Unchanged, p.Report.Denials, p.Report.Warnings)
	if len(p.Report.Results) > 0 {
		b.WriteString("#### Policy results\n\n| | policy | object | where | message |\n|---|---|---|---|---|\n")
		for _, r := range p.Report.Results {
			icon := "⚠️ warn"
			if r.Severity == validate.SeverityDeny {
				icon = "❌ deny"
			}
			where := location(r)
			if r.Field != "" {
				where = strings.TrimPrefix(where+" `"+r.Field+"`", " ")
			}
			fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %s |\n", icon, r.Policy, r.Object, where, markdown.Text(r.Message))
		}
		b.WriteString("\n")
	}
	if p.Live != nil {
		b.WriteString("#### Live cluster (server-side dry-run of head)\n\n")
		for _, r := range p.Live.Rejected {
			fmt.Fprintf(&b, "- ❌ rejected by the API server: %s\n", markdown.Text(r))
		}
		for _, e := range p.Live.Actions {
			fmt.Fprintf(&b, "- %s `%s`\n", e.Action, e.ID)
		}
		if len(p.Live.Rejected) == 0 && len(p.Live.Actions) == 0 {
			b.WriteString("- no changes\n")
		}
		b.WriteString("\n")
		if err := p.Live.Drift.WriteMarkdown(&b); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	var traffic strings.Builder
	for _, c := range p.Changes {
		if c.Kind != "VirtualService" {
			continue
		}
		if d := plan.TrafficDiagram(c.Base, c.Head); d != "" {
			fmt.Fprintf(&traffic, "<details open><summary>Traffic of <code>%s</code> (%s)</summary>\n\n```mermaid\n%s```\n\n</details>\n\n", c.ID, c.Action, d)
		}
	}
	if traffic.Len() > 0 {
		b.WriteString("#### Traffic\n\n")
		b.WriteString(traffic.String())
	}
	if len(p.Changes) > 0 {
		b.WriteString("#### Changes\n\n")
	}
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "<details><summary><b>%s</b> <code>%s</code>", c.Action, c.ID)
		if c.Source != "" {
			fmt.Fprintf(&b, " from <code>%s</code>", c.Source)
		}
		b.WriteString("</summary>\n\n```diff\n")
		b.WriteString(c.Diff)
		b.WriteString("```\n\n</details>\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "") + "\n"
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/output"
	"github.com/meshintent/meshintent/pkg/plan"
	"github.com/meshintent/meshintent/pkg/termsafe"
	"github.com/meshintent/meshintent/pkg/validate"
)

func newPlanCommand(a *app) *cobra.Command {
	var (
		in         inputFlags
		cl         clusterFlags
		base, head string
		out        outputFlags
	)
	cmd := &cobra.Command{
		Use:   "plan [REPO_DIR] --base REV [--head REV]",
		Short: "Show what merging head into base changes in the rendered objects, and head's policy results",
		Long: `plan renders the path at two revisions of a Git repository (a local clone or
--repo URL), lists the objects added, changed and removed with a diff of each,
and runs the policy gate over head. Exit 0 when head passes, 1 when a deny
policy matches, 2 on bad input or a failed fetch.

A local clone is read as it is, without fetching: --base and --head take any
revision git rev-parse takes for a commit that is present (HEAD, HEAD~2,
origin/main, refs/remotes/pull/7/merge, tags, full and short SHAs), in shallow
clones and on detached HEADs too. Without --head, head is the working tree on
disk, uncommitted and untracked (not ignored) files included, as git diff BASE
sees it. REPO_DIR may be a directory inside the clone: --path is relative to it.
With --repo both revisions are fetched: branch, tag or full SHA.`,
		Example: `  reconciler plan . --base origin/main --head HEAD --path overlays/prod -o markdown --output-file plan.md
  reconciler plan . --base origin/main --head HEAD --path overlays/prod -o github
  reconciler plan . --base HEAD --path overlays/prod      # uncommitted changes
  reconciler plan --repo https://git.example.com/mesh.git --base main --head feature/canary`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out.format, planFormats...); err != nil {
				return err
			}
			switch {
			case base == "":
				return usageError(errors.New("plan needs --base (and --head; without it, head is the working tree of a local repository)"))
			case in.repo != "" && len(args) > 0:
				return usageError(errors.New("give either a local repository or --repo, not both"))
			case in.repo == "" && len(args) == 0:
				return usageError(errors.New("give a local repository or --repo URL"))
			case in.repo != "" && head == "":
				return usageError(errors.New("plan --repo needs --head: only a local repository has a working tree"))
			}
			ctx := cmd.Context()
			baseTree, headTree, err := in.planTrees(ctx, args, base, head)
			if err != nil {
				return err
			}
			defer headTree.close()
			if head == "" {
				head = headTree.Revision
			}
			baseOut, err := in.build(ctx, baseTree, false)
			if err != nil {
				return fmt.Errorf("base %s: %w", base, err)
			}
			dataFor, skipped, err := liveChecks(cmd, &cl, out.format)
			if err != nil {
				return err
			}
			headOut, err := in.buildLive(ctx, headTree, true, dataFor)
			if err != nil {
				return fmt.Errorf("head %s: %w", head, err)
			}
			if skipped != "" {
				fmt.Fprintln(a.stderr, skipped)
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
			err = out.write(a.stdout, func(w io.Writer, full bool) error {
				if out.format == "text" {
					return p.writeText(w)
				}
				return output.WritePlan(w, output.Format(out.format), p.output(), outputOptions(headTree.Root, headTree.Prefix, headOut.Report, full))
			})
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
	cmd.Flags().StringVar(&base, "base", "", "base revision (required): in a local clone anything git rev-parse takes (origin/main, HEAD~1, a short SHA); with --repo a branch, tag or full SHA")
	cmd.Flags().StringVar(&head, "head", "", "head revision, as --base (default in a local clone: the working tree, uncommitted and untracked files included; required with --repo)")
	out.register(cmd, planFormats)
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

// liveView is what applying head would do to the live cluster.
type liveView = output.Live

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

// planFormats are the formats of plan (see package output).
var planFormats = []string{"text", "markdown", "json", "github", "sarif", "junit"}

// output is p for package output.
func (p planView) output() output.Plan {
	return output.Plan{
		Path: p.Path, Base: p.Base, Head: p.Head, Summary: p.Summary,
		Changes: p.Changes, Report: p.Report, Live: p.Live,
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
	if _, err := io.WriteString(w, termsafe.Text(b.String())); err != nil { // diffs quote repository text
		return err
	}
	return writeResultsText(w, p.Report)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "") + "\n"
}

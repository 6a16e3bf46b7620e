package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/live"
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
		contexts   contextList
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
With --repo both revisions are fetched: branch, tag or full SHA.

--context may name several contexts of the kubeconfig (--context a,b or
--context a --context b): the revisions are rendered and judged once, then
head is dry-run against each cluster, in parallel, and each gets a section:
objects to create, change and prune, drift, or the error that stopped it.
An unreachable cluster is reported and the others are still planned; the
exit code is 2 when any cluster failed. The live checks need a single
context (-o text or json with several).`,
		Example: `  reconciler plan . --base origin/main --head HEAD --path overlays/prod -o markdown --output-file plan.md
  reconciler plan . --base origin/main --head HEAD --path overlays/prod -o github
  reconciler plan . --base HEAD --path overlays/prod      # uncommitted changes
  reconciler plan --repo https://git.example.com/mesh.git --base main --head feature/canary
  reconciler plan . --base origin/main --head HEAD --context prod-east,prod-west`,
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
			case len(contexts) > 1 && out.format != "text" && out.format != "json":
				return usageError(fmt.Errorf("plan with several contexts writes -o text or json, not %s", out.format))
			}
			if len(contexts) == 1 {
				cl.context = contexts[0]
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
			var dataFor func(context.Context, manifest.Set) (map[string]any, error)
			skipped := fmt.Sprintf("info: %d live checks skipped (several contexts; pass one --context to run them)", len(live.Checks))
			if len(contexts) <= 1 {
				if dataFor, skipped, err = liveChecks(cmd, &cl, out.format); err != nil {
					return err
				}
			} else if out.format != "text" {
				skipped = ""
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
			switch {
			case len(contexts) > 1:
				p.Clusters = planClusters(ctx, cl, contexts, headOut.Render.Objects, headTree.Revision, headOut.Config.Ignore)
			case cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context"):
				if p.Live, err = liveDiff(ctx, cl, headOut.Render.Objects, headTree.Revision, headOut.Config.Ignore); err != nil {
					return err
				}
			}
			err = out.write(a.stdout, func(w io.Writer, full bool) error {
				switch {
				case out.format == "text":
					return p.writeText(w)
				case p.Clusters != nil:
					return p.writeJSON(w)
				}
				return output.WritePlan(w, output.Format(out.format), p.output(), outputOptions(headTree.Root, headTree.Prefix, headOut.Report, full))
			})
			if err != nil {
				return err
			}
			if err := clustersFailed(p.Clusters); err != nil {
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
	ctxFlag := cmd.Flags().Lookup("context")
	ctxFlag.Value = &contexts
	ctxFlag.Usage = "kubeconfig context (default: the current one); several, comma-separated or repeated, plan head against each cluster"
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
	// Clusters are head compared with each cluster of several --context;
	// nil with one or none.
	Clusters []clusterPlan
}

// clusterPlan is head compared with one cluster of several --context.
type clusterPlan struct {
	// Context is the kubeconfig context.
	Context string `json:"context"`
	// Server is the context's API server URL; empty when the kubeconfig
	// has no such context.
	Server string `json:"server,omitempty"`
	// Live is what applying head would do there; nil when Error is set.
	Live *liveView `json:"live,omitempty"`
	// Error is what stopped the plan of this cluster (unreachable, no such
	// context, refused credentials).
	Error string `json:"error,omitempty"`
}

// contextList is plan's --context: one kubeconfig context or several,
// comma-separated or repeated.
type contextList []string

func (l *contextList) String() string { return strings.Join(*l, ",") }
func (l *contextList) Type() string   { return "contexts" }

// Set adds the comma-separated contexts of v, refusing empty and repeated
// names.
func (l *contextList) Set(v string) error {
	for c := range strings.SplitSeq(v, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			return errors.New("empty context name")
		}
		if slices.Contains(*l, c) {
			return fmt.Errorf("context %q given twice", c)
		}
		*l = append(*l, c)
	}
	return nil
}

// planClusters compares set, the head rendered once, with the cluster of
// each context, in parallel. A cluster that fails has its Error set and
// does not stop the others.
func planClusters(ctx context.Context, cl clusterFlags, contexts []string, set manifest.Set, revision string, ignore []apply.IgnoreRule) []clusterPlan {
	out := make([]clusterPlan, len(contexts))
	var wg sync.WaitGroup
	for i, name := range contexts {
		wg.Go(func() {
			c := cl
			c.context = name
			out[i].Context = name
			if cfg, err := c.restConfig(); err == nil {
				out[i].Server = cfg.Host
			}
			// Each cluster dry-runs its own copy: apply may set fields of
			// the objects it is given.
			own := make(manifest.Set, len(set))
			for j, o := range set {
				o.Unstructured = o.DeepCopy()
				own[j] = o
			}
			lv, err := liveDiff(ctx, c, own, revision, ignore)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Live = lv
		})
	}
	wg.Wait()
	return out
}

// clustersFailed is the error of a multi-context plan whose clusters did
// not all answer; nil when they did.
func clustersFailed(clusters []clusterPlan) error {
	var failed []string
	for _, c := range clusters {
		if c.Error != "" {
			failed = append(failed, c.Context)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d clusters could not be planned: %s", len(failed), len(clusters), strings.Join(failed, ", "))
}

// liveView is what applying head would do to the live cluster.
type liveView = output.Live

// liveDiff dry-runs head against the cluster (with prune, to show what
// would be deleted) and compares it field by field with the live objects.
func liveDiff(ctx context.Context, cl clusterFlags, set manifest.Set, revision string, ignore []apply.IgnoreRule) (*liveView, error) {
	m, err := cl.manager()
	if err != nil {
		return nil, err
	}
	lv := &liveView{}
	res, err := m.Apply(ctx, set, apply.ApplyOptions{
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
	if lv.Drift, err = m.Drift(ctx, set, dopts); err != nil {
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
		if err := writeLiveText(&b, "live cluster (server-side dry-run of head):", p.Live); err != nil {
			return err
		}
	}
	for _, c := range p.Clusters {
		title := fmt.Sprintf("cluster %s", c.Context)
		if c.Server != "" {
			title += " (" + c.Server + ")"
		}
		if c.Error != "" {
			fmt.Fprintf(&b, "%s:\n    ERROR %s\n\n", title, c.Error)
			continue
		}
		if err := writeLiveText(&b, title+", server-side dry-run of head:", c.Live); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, termsafe.Text(b.String())); err != nil { // diffs quote repository text
		return err
	}
	return writeResultsText(w, p.Report)
}

// writeLiveText writes lv under title: the API server's rejections, the
// objects to create, change and prune, then the drift.
func writeLiveText(b *strings.Builder, title string, lv *liveView) error {
	b.WriteString(title + "\n")
	for _, r := range lv.Rejected {
		fmt.Fprintf(b, "    REJECTED %s\n", r)
	}
	for _, e := range lv.Actions {
		fmt.Fprintf(b, "    %s\n", e.String())
	}
	if len(lv.Rejected) == 0 && len(lv.Actions) == 0 {
		b.WriteString("    no changes\n")
	}
	var d strings.Builder
	if err := lv.Drift.WriteText(&d); err != nil {
		return err
	}
	b.WriteString(indent(d.String(), "    "))
	b.WriteString("\n")
	return nil
}

// writeJSON writes a multi-context plan: package output's PlanResult with
// a "clusters" list, one entry per context, in the order given.
func (p planView) writeJSON(w io.Writer) error {
	var buf bytes.Buffer
	if err := output.WritePlan(&buf, output.JSON, p.output(), output.Options{}); err != nil {
		return err
	}
	var res struct {
		output.PlanResult
		Clusters []clusterPlan `json:"clusters"`
	}
	if err := json.Unmarshal(buf.Bytes(), &res.PlanResult); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	res.Clusters = p.Clusters
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "") + "\n"
}

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/apply"
)

func newApplyCommand(a *app) *cobra.Command {
	var (
		in       inputFlags
		cl       clusterFlags
		opts     = apply.DefaultApplyOptions()
		dryRun   bool
		noPolicy bool
	)
	cmd := &cobra.Command{
		Use:   "apply [DIR]",
		Short: "Fetch, render, validate, dry-run and server-side apply the intents to a cluster",
		Long: `apply runs the whole pipeline once: fetch (with --repo), render, the policy
gate, a server-side dry-run of every object, then the apply (Namespace labels
first, then mesh config) with field manager "meshintent". If the policy gate
denies or any object fails the dry-run, nothing is applied (exit 1 or 2).
--prune deletes what left Git, using the inventory of the previous apply; for
Namespaces it only removes meshintent's labels.`,
		Example: `  reconciler apply examples/repo/overlays/prod --kubeconfig ~/.kube/config
  reconciler apply --repo https://git.example.com/mesh.git --ref main --path overlays/prod --prune`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := in.resolve(ctx, args)
			if err != nil {
				return err
			}
			out, err := in.build(ctx, t, !noPolicy)
			if err != nil {
				return err
			}
			if out.Report != nil && (out.Report.Denied() || out.Report.Warnings > 0) {
				if err := writeResultsText(a.stderr, out.Report); err != nil {
					return err
				}
				if out.Report.Denied() {
					fmt.Fprintln(a.stderr, "nothing applied: the policy gate denied this revision")
					return denied()
				}
			}
			m, err := cl.manager()
			if err != nil {
				return err
			}
			opts.Inventory = cl.inventory
			opts.Revision = t.Revision
			if dryRun {
				opts.DryRun = true
			}
			stop := startProgress(ctx, "applying "+t.Path)
			res, err := m.Apply(ctx, out.Render.Objects, opts)
			stop()
			if err != nil {
				var dr *apply.DryRunError
				if errors.As(err, &dr) {
					fmt.Fprintln(a.stderr, "nothing applied: the API server rejected the dry-run")
				}
				return err
			}
			fmt.Fprint(a.stdout, res.ChangeSet.String())
			verb := "applied"
			if dryRun {
				verb = "dry-run"
			}
			fmt.Fprintf(a.stdout, "%s %s: %s\n", verb, t.Revision, res.ChangeSet.Summary())
			return nil
		},
	}
	in.register(cmd, true)
	cl.register(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&opts.Prune, "prune", false, "delete objects that left Git (from the inventory); only meshintent's labels are removed from Namespaces")
	fs.BoolVar(&opts.AllowEmpty, "allow-empty", false, "with --prune, allow an empty render to delete everything in the inventory")
	fs.BoolVar(&opts.Force, "force", false, "take over fields owned by other field managers (correct drift)")
	fs.BoolVar(&opts.CreateNamespaces, "create-namespaces", false, "create namespaces that do not exist instead of failing")
	fs.BoolVar(&dryRun, "dry-run", false, "server-side dry-run only: report what would change, write nothing")
	fs.BoolVar(&noPolicy, "skip-policy", false, "skip the policy gate (for break-glass use; the dry-run still runs)")
	return cmd
}

func newDiffCommand(a *app) *cobra.Command {
	var (
		in     inputFlags
		cl     clusterFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "diff [DIR]",
		Short: "Compare the rendered intents with the live cluster: exit 0 in sync, 1 drift, 2 error",
		Long: `diff renders the intents and reports, against the live cluster: fields set in
Git whose live value differs (with the field manager that changed it), objects
missing live, objects applied earlier that left Git, and Istio objects in
managed namespaces that nobody manages through Git (e.g. made by Kiali's
wizards). Ignore rules come from meshintent.yaml.`,
		Example: `  reconciler diff examples/repo/overlays/prod -o markdown`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "markdown", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			t, err := in.resolve(ctx, args)
			if err != nil {
				return err
			}
			out, err := in.build(ctx, t, false)
			if err != nil {
				return err
			}
			m, err := cl.manager()
			if err != nil {
				return err
			}
			dopts := apply.DefaultDriftOptions()
			dopts.Inventory = cl.inventory
			dopts.Ignore = append(dopts.Ignore, out.Config.Ignore...)
			stop := startProgress(ctx, "comparing "+t.Path+" with the cluster")
			rep, err := m.Drift(ctx, out.Render.Objects, dopts)
			stop()
			if err != nil {
				return err
			}
			switch output {
			case "json":
				err = rep.WriteJSON(a.stdout)
			case "markdown":
				err = rep.WriteMarkdown(a.stdout)
			default:
				err = rep.WriteText(a.stdout)
			}
			if err != nil {
				return err
			}
			if !rep.InSync() {
				return denied()
			}
			return nil
		},
	}
	in.register(cmd, true)
	cl.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, markdown or json")
	return cmd
}

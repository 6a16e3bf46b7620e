package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/report"
	"github.com/meshintent/meshintent/pkg/source"
)

func newReportCommand(a *app) *cobra.Command {
	var (
		in         inputFlags
		cl         clusterFlags
		output     string
		intentSync string
	)
	cmd := &cobra.Command{
		Use:   "report [DIR]",
		Short: "Print a drift report: exit 0 clean, 1 findings, 2 error",
		Long: `report prints the drift report the controller's scheduled reports store, on
demand: fields set in Git whose live value differs (with the field manager
that changed them), objects missing live, Istio objects in managed namespaces
nobody manages through Git (flagging Kiali wizard ones), objects that left Git,
and fields other field managers own that an apply without force would fail on
(found with a server-side dry-run; nothing is written).

With --intentsync NAMESPACE/NAME it reports on that IntentSync exactly as the
controller does: its last applied revision (or, before the first apply, what
spec.source follows), its inventory and ignore rules. Git credentials come
from $` + envGitUsername + `, $` + envGitPassword + `, $` + envGitToken + ` or --ssh-key,
never from the IntentSync's Secret. Otherwise it reports on a local directory
or --repo, like diff.`,
		Example: `  reconciler report --intentsync meshintent-system/bookinfo-prod
  reconciler report examples/repo/overlays/prod -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "markdown", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			var (
				rep *report.Report
				err error
			)
			if intentSync != "" {
				for _, f := range []string{"repo", "ref", "path", "root", "inventory"} {
					if cmd.Flags().Changed(f) {
						return usageError(fmt.Errorf("--intentsync takes the source and inventory from the IntentSync: drop --%s", f))
					}
				}
				if len(args) > 0 {
					return usageError(errors.New("give either a directory, --repo or --intentsync"))
				}
				rep, err = intentSyncReport(ctx, &in, &cl, intentSync)
			} else {
				rep, err = treeReport(ctx, &in, &cl, args)
			}
			if err != nil {
				return err
			}
			if output == "json" {
				err = rep.WriteJSON(a.stdout)
			} else {
				err = rep.WriteMarkdown(a.stdout)
			}
			if err != nil {
				return err
			}
			if !rep.Clean() {
				return denied()
			}
			return nil
		},
	}
	in.register(cmd, true)
	cl.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&intentSync, "intentsync", "", "NAMESPACE/NAME of an IntentSync to report on as the controller does")
	fs.StringVarP(&output, "output", "o", "markdown", "output format: markdown or json")
	return cmd
}

// intentSyncReport reports on the IntentSync ref ("namespace/name"): its
// last applied revision rendered as the controller renders it, compared
// with the cluster using its inventory.
func intentSyncReport(ctx context.Context, in *inputFlags, cl *clusterFlags, ref string) (*report.Report, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, usageError(fmt.Errorf("--intentsync %q: use NAMESPACE/NAME", ref))
	}
	c, err := cl.clientWithIntentSyncs()
	if err != nil {
		return nil, err
	}
	obj := &v1alpha1.IntentSync{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return nil, fmt.Errorf("reading IntentSync %s: %w", ref, err)
	}
	fetcher, err := source.NewFetcher(in.cacheDir)
	if err != nil {
		return nil, err
	}
	auth, err := in.auth()
	if err != nil {
		return nil, err
	}
	applied, err := controller.RenderApplied(ctx, fetcher, obj, auth)
	if err != nil {
		return nil, err
	}
	opts := apply.DefaultOptions()
	opts.InventoryNamespace = cl.invNS
	m := apply.NewManager(c, opts)
	return report.Compute(ctx, m, applied.Set, controller.ReportOptions(obj, applied, time.Now()))
}

// treeReport reports on a local directory or --repo, like diff.
func treeReport(ctx context.Context, in *inputFlags, cl *clusterFlags, args []string) (*report.Report, error) {
	t, err := in.resolve(ctx, args)
	if err != nil {
		return nil, err
	}
	out, err := in.build(ctx, t, false)
	if err != nil {
		return nil, err
	}
	m, err := cl.manager()
	if err != nil {
		return nil, err
	}
	return report.Compute(ctx, m, out.Render.Objects, report.Options{
		Source:    in.repo,
		Revision:  t.Revision,
		Inventory: cl.inventory,
		Ignore:    out.Config.Ignore,
	})
}

// clientWithIntentSyncs connects to the cluster with a client that also
// knows meshintent.io/v1alpha1.
func (f *clusterFlags) clientWithIntentSyncs() (client.Client, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: intentSyncScheme()})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return c, nil
}

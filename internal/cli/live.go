package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// liveChecks returns what runs the live checks (policies/live.rego) of a
// command: with --kubeconfig or --context, a pipeline.Options.DataFor that
// reads the cluster through cl; without, nil, after telling stderr in one
// info line (text output only) that the checks were skipped.
func liveChecks(cmd *cobra.Command, cl *clusterFlags, format string, stderr io.Writer) (func(context.Context, manifest.Set) (map[string]any, error), error) {
	if !cmd.Flags().Changed("kubeconfig") && !cmd.Flags().Changed("context") {
		if format == "text" {
			fmt.Fprintf(stderr, "info: %d live checks skipped (no cluster; pass --kubeconfig to run them)\n", len(live.Checks))
		}
		return nil, nil
	}
	cfg, err := cl.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	r := live.NewReader(c, live.Options{})
	return func(ctx context.Context, set manifest.Set) (map[string]any, error) {
		v, err := r.Read(ctx, set, live.ReadOptions{})
		if err != nil {
			return nil, fmt.Errorf("live checks: %w", err)
		}
		return v.Data()
	}, nil
}

// registerLiveFlags adds --kubeconfig and --context to a command that
// otherwise needs no cluster (validate).
func registerLiveFlags(cmd *cobra.Command, cl *clusterFlags) {
	fs := cmd.Flags()
	fs.StringVar(&cl.kubeconfig, "kubeconfig", "", "kubeconfig file: run the live checks against that cluster (default: $KUBECONFIG, ~/.kube/config, then in-cluster, with --context)")
	fs.StringVar(&cl.context, "context", "", "kubeconfig context: run the live checks against that cluster")
}

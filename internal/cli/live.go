package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// liveChecks returns what runs the live checks (policies/live.rego) of a
// command: with --kubeconfig or --context, a pipeline.Options.DataFor that
// reads the cluster through cl; without, a nil DataFor and, in text output,
// skipped: the one info line saying the checks were skipped. The caller
// prints skipped only once the policy gate has run (the build succeeded):
// when rendering or compiling the policies fails, no check could have run
// and the error is the only thing to say.
func liveChecks(cmd *cobra.Command, cl *clusterFlags, format string) (dataFor func(context.Context, manifest.Set) (map[string]any, error), skipped string, err error) {
	if !cmd.Flags().Changed("kubeconfig") && !cmd.Flags().Changed("context") {
		if format == "text" {
			skipped = fmt.Sprintf("info: %d live checks skipped (no cluster; pass --kubeconfig to run them)", len(live.Checks))
		}
		return nil, skipped, nil
	}
	cfg, err := cl.restConfig()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	r := live.NewReader(c, live.Options{})
	return func(ctx context.Context, set manifest.Set) (map[string]any, error) {
		v, err := r.Read(ctx, set, live.ReadOptions{})
		if err != nil {
			return nil, fmt.Errorf("live checks: %w", err)
		}
		return v.Data()
	}, "", nil
}

// registerLiveFlags adds --kubeconfig and --context to a command that
// otherwise needs no cluster (validate).
func registerLiveFlags(cmd *cobra.Command, cl *clusterFlags) {
	fs := cmd.Flags()
	fs.StringVar(&cl.kubeconfig, "kubeconfig", "", "kubeconfig file: run the live checks against that cluster (default: $KUBECONFIG, ~/.kube/config, then in-cluster, with --context)")
	fs.StringVar(&cl.context, "context", "", "kubeconfig context: run the live checks against that cluster")
}

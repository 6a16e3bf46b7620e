package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/apply"
)

// clusterFlags say which cluster to talk to and how meshintent records what
// it applied there.
type clusterFlags struct {
	kubeconfig string
	context    string
	inventory  string
	invNS      string
	// qps and burst, when qps is not 0, replace the client-side rate limit
	// (a negative qps turns it off); `run` sets them from --kube-api-qps
	// and --kube-api-burst.
	qps   float32
	burst int
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVar(&f.inventory, "inventory", apply.DefaultInventoryName, "name of the inventory ConfigMap that records what was applied")
	fs.StringVar(&f.invNS, "inventory-namespace", apply.DefaultInventoryNamespace, "namespace of the inventory ConfigMap")
}

// restConfig loads the kubeconfig the usual way: --kubeconfig, $KUBECONFIG,
// ~/.kube/config, and the in-cluster service account when none is found.
func (f *clusterFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: f.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.UserAgent = "meshintent-reconciler"
	if cfg.QPS == 0 {
		// client-go would throttle to 5 requests a second (an apply of 60
		// objects took 26s); like controller-runtime's config loader, leave
		// flow control to the API server's priority and fairness.
		cfg.QPS = -1
	}
	if f.qps != 0 {
		cfg.QPS, cfg.Burst = f.qps, f.burst
	}
	return cfg, nil
}

// manager connects to the cluster.
func (f *clusterFlags) manager() (*apply.Manager, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	opts := apply.DefaultOptions()
	opts.InventoryNamespace = f.invNS
	return apply.NewManager(c, opts), nil
}

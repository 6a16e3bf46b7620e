package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/pkg/apply"
)

// envWebhookSecret carries the webhook secret when --webhook-secret-file is
// not given; secrets are never taken as flags.
const envWebhookSecret = "MESHINTENT_WEBHOOK_SECRET"

// runGCPercent is the garbage collector target `run` sets when $GOGC is
// unset: half of Go's default of 100. The controller idles between bursts
// whose garbage would otherwise grow the heap to twice what is live; see
// the README's Memory section for what it costs and saves.
const runGCPercent = 50

func newRunCommand(a *app) *cobra.Command {
	var (
		cl         clusterFlags
		opts       controller.Options
		secretFile string
		ylim       yamlLimitFlags
		uiAddr     string
		zopts      = zap.Options{}
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the controller: keep the cluster equal to the IntentSyncs' Git revisions",
		Long: `run starts the IntentSync controller. For each IntentSync it fetches the Git
source (polling at spec.interval, or at once on a push webhook), renders and
validates it (built-in and repository policies plus the allowedNamespaces
fence), dry-runs and applies it, and records the outcome in status, Events and
metrics. Objects it applied are watched: a change by anyone else is reported
as drift within a second, and reverted when spec.driftMode is correct.

The webhook receiver (/hooks/github, /hooks/gitlab, /hooks/generic) is served
on --webhook-addr when a secret is given in --webhook-secret-file or $` + envWebhookSecret + `.

--watch-label-selector shards the controller: a replica reconciles, reports on
and triggers (webhooks) only the IntentSyncs whose labels match, and elects its
leader on a Lease of its own, named after the selector unless
--leader-election-id names it.

Unless $GOGC is set, the Go garbage collector runs at GOGC=` + fmt.Sprint(runGCPercent) + ` (Go's default is
100): a smaller heap for a little more CPU in large syncs.`,
		Example: `  reconciler run --leader-elect --leader-election-namespace meshintent-system \
    --webhook-secret-file /etc/meshintent/webhook-secret

  # two shards: the main one, and shard1 for IntentSyncs labelled shard1
  reconciler run --leader-elect --watch-label-selector '!` + controller.ShardLabel + `'
  reconciler run --leader-elect --watch-label-selector ` + controller.ShardLabel + `=shard1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, set := os.LookupEnv("GOGC"); !set {
				debug.SetGCPercent(runGCPercent)
			}
			logger := zap.New(zap.UseFlagOptions(&zopts), zap.WriteTo(a.stderr))
			ctrl.SetLogger(logger)
			klog.SetLogger(logger) // client-go's own logs (leader election...)
			cfg, err := cl.restConfig()
			if err != nil {
				return err
			}
			secret, err := webhookSecret(secretFile)
			if err != nil {
				return err
			}
			switch {
			case len(secret) > 0:
				opts.WebhookSecret = secret
			case cmd.Flags().Changed("webhook-addr"):
				return fmt.Errorf("--webhook-addr needs a secret: --webhook-secret-file or $%s", envWebhookSecret)
			default:
				logger.Info("no webhook secret: the webhook receiver is off, IntentSyncs are polled only")
				opts.WebhookAddr = ""
			}
			opts.Config = cfg
			opts.Logger = logger
			opts.InventoryNamespace = cl.invNS
			opts.YAMLLimits = ylim.limits()
			mgr, err := controller.NewManager(opts)
			if err != nil {
				return err
			}
			if err := addUI(mgr, uiAddr, cfg, opts.Namespace, logger); err != nil {
				return err
			}
			logger.Info("starting", "namespace", opts.Namespace, "webhook", mgr.WebhookAddr(),
				"leaderElection", opts.LeaderElection, "lease", mgr.LeaderElectionID,
				"watchLabelSelector", opts.WatchLabelSelector, "kinds", len(mgr.Kinds))
			if err := mgr.Start(cmd.Context()); err != nil {
				return fmt.Errorf("running the controller: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cl.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&cl.context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVar(&cl.invNS, "inventory-namespace", apply.DefaultInventoryNamespace, "namespace of the inventory ConfigMaps")
	fs.Float32Var(&cl.qps, "kube-api-qps", -1,
		"requests per second to the Kubernetes API (client-side rate limit); negative: no client-side limit, "+
			"the API server's priority and fairness decides (applies run at most "+fmt.Sprint(apply.DefaultConcurrency)+" requests at once per IntentSync)")
	fs.IntVar(&cl.burst, "kube-api-burst", 100, "requests above --kube-api-qps allowed in a burst, when --kube-api-qps is positive")
	fs.StringVar(&opts.Namespace, "namespace", "", "only reconcile IntentSyncs in this namespace (default: all)")
	fs.StringSliceVar(&opts.Fence.Namespaces, "allowed-namespaces", nil,
		"fence every IntentSync to these namespaces: the default of those that set no spec.allowedNamespaces, the bound of those that do")
	fs.StringSliceVar(&opts.Fence.SharedGateways, "shared-gateways", nil,
		"with --allowed-namespaces: gateways (namespace/name) fenced IntentSyncs may bind to; bounds spec.sharedGateways")
	fs.StringSliceVar(&opts.Fence.AllowedExternalHosts, "allowed-external-hosts", nil,
		"with --allowed-namespaces: hosts outside the fence fenced IntentSyncs may name; bounds spec.allowedExternalHosts")
	fs.StringVar(&opts.DefaultServiceAccount, "default-service-account", "",
		"impersonate this ServiceAccount (of each IntentSync's namespace) in every request of the IntentSyncs that set no "+
			"spec.serviceAccountName, so that none acts with the controller's rights (default: they act as the controller)")
	fs.StringVar(&opts.MetricsAddr, "metrics-addr", ":8080", `address of the Prometheus metrics endpoint; "0" turns it off`)
	fs.StringVar(&opts.HealthProbeAddr, "health-probe-addr", ":8081", "address of the /healthz and /readyz probes")
	fs.StringVar(&opts.PprofAddr, "pprof-addr", "", "address serving Go's profiles at /debug/pprof/ (default: off)")
	fs.StringVar(&opts.WebhookAddr, "webhook-addr", ":9292", "address of the push webhook receiver")
	fs.StringVar(&secretFile, "webhook-secret-file", "", "file holding the webhook secret (default: $"+envWebhookSecret+")")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader among replicas; only the leader reconciles")
	fs.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's)")
	fs.StringVar(&opts.LeaderElectionID, "leader-election-id", "",
		"name of the leader election Lease (default: "+controller.DefaultLeaderElectionID+
			", or with --watch-label-selector "+controller.DefaultLeaderElectionID+"-<10 hex digits of the selector's SHA-256>)")
	fs.StringVar(&opts.WatchLabelSelector, "watch-label-selector", "",
		"shard: reconcile only the IntentSyncs whose labels match this selector, e.g. "+
			controller.ShardLabel+"=shard1, or '!"+controller.ShardLabel+"' for the main shard; "+
			"each shard elects its own leader (default: all IntentSyncs)")
	fs.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"how long replicas wait after the leader's last renewal before taking the lease over")
	fs.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"how long the leader tries to renew the lease before giving the lead up")
	fs.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", 2*time.Second,
		"how often replicas try to acquire or renew the lease")
	fs.StringVar(&opts.CacheDir, "cache-dir", defaultCacheDir(), "where fetched repositories are cached")
	fs.IntVar(&opts.Concurrent, "concurrent", 4, "IntentSyncs reconciled at once")
	ylim.register(fs)
	fs.StringVar(&uiAddr, "ui-bind-address", "", "address of the read-only web UI, which authenticates bearer tokens (TokenReview) and authorizes pages (SubjectAccessReview); default: off")
	fs.BoolVar(&opts.LiveChecks, "live-checks", false,
		"run the live mesh checks (IST0101, IST0112, IST0173, IST0109) against the cluster before each apply; "+
			"off by default because routing often merges before the Services it names exist. "+
			"Needs list on services and pods, which config/rbac/role.yaml grants")
	fs.DurationVar(&opts.MemoryReleaseInterval, "memory-release-interval", 10*time.Second,
		"return the heap a sync leaves behind to the OS, at most this often; 0 turns it off")
	// zap's flags (--zap-log-level, --zap-encoder, --zap-devel...) on a
	// flag set of this command only.
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	zopts.BindFlags(gofs)
	fs.AddGoFlagSet(gofs)
	return cmd
}

// webhookSecret reads the secret from file, or from $MESHINTENT_WEBHOOK_SECRET
// when file is empty. Surrounding whitespace (a trailing newline) is dropped.
func webhookSecret(file string) ([]byte, error) {
	s := os.Getenv(envWebhookSecret)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the webhook secret: %w", err)
		}
		s = string(b)
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("the webhook secret file is empty")
		}
	}
	return []byte(strings.TrimSpace(s)), nil
}

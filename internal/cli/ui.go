package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/meshintent/meshintent/internal/ui"
)

// defaultUIAddress is where `reconciler ui` listens unless told otherwise.
const defaultUIAddress = "127.0.0.1:8090"

func newUICommand(a *app) *cobra.Command {
	var (
		cl        clusterFlags
		address   string
		anyIface  bool
		namespace string
		gitCache  string
	)
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the read-only web UI (IntentSyncs and traffic graphs) from your kubeconfig",
		Long: `ui serves the read-only web UI on ` + defaultUIAddress + `, like argocd admin dashboard:
the list of IntentSyncs, the page of each (conditions, history, objects and
drift, policy results, drift reports) and the traffic graph of each of its
services, drawn from the live VirtualServices and DestinationRules. Pages
update by themselves (Server-Sent Events) when an IntentSync's status changes.

It reads the cluster with your kubeconfig's identity and has no login of its
own, so it listens on loopback only: --address with a non-loopback address
also needs --insecure-bind-any. The controller serves the same UI with
TokenReview and SubjectAccessReview (reconciler run --ui-bind-address).

When an IntentSync has a revision fetched but not applied, or one that
failed, its page draws that revision's traffic graphs next to the applied
ones. For that the UI fetches the commit into --git-cache-dir, anonymously:
a repository that needs credentials (spec.source.secretRef) is not fetched,
as the UI reads no Secret. An empty --git-cache-dir turns this off.`,
		Example: `  reconciler ui                      # then open http://127.0.0.1:8090/
  reconciler ui -n bookinfo --address 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLoopback(address, anyIface); err != nil {
				return err
			}
			cfg, err := cl.restConfig()
			if err != nil {
				return err
			}
			srv, err := ui.New(ui.Options{Config: cfg, Namespace: namespace, GitCacheDir: gitCache})
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", address)
			if err != nil {
				return fmt.Errorf("ui: listening on %s: %w", address, err)
			}
			fmt.Fprintf(a.stdout, "meshintent UI at http://%s/ (reading %s; Ctrl-C stops)\n", l.Addr(), cfg.Host)
			if err := srv.Serve(cmd.Context(), l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cl.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&cl.context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVarP(&namespace, "namespace", "n", "", "show only the IntentSyncs of this namespace (default: all)")
	fs.StringVar(&address, "address", defaultUIAddress, "address to listen on (loopback unless --insecure-bind-any)")
	fs.StringVar(&gitCache, "git-cache-dir", defaultUIGitCache(),
		"where pending revisions are fetched to draw their graphs; empty: do not fetch")
	fs.BoolVar(&anyIface, "insecure-bind-any", false,
		"allow a non-loopback --address: anyone who reaches it sees what your kubeconfig may read")
	return cmd
}

// defaultUIGitCache is the UI's Git cache: under the user's cache
// directory, else the temporary one.
func defaultUIGitCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "meshintent", "ui-git")
}

// checkLoopback refuses an address that is not a loopback IP or localhost
// unless allowed is set; an empty host (":8090") listens everywhere.
func checkLoopback(address string, allowed bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("--address %q: %w", address, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("--address %s is not loopback: the UI uses your kubeconfig and has no login; add --insecure-bind-any to serve it anyway", address)
}

// addUI serves the UI from the controller's manager on addr, with
// TokenReview and SubjectAccessReview; an empty addr does nothing.
func addUI(mgr interface{ Add(manager.Runnable) error }, addr string, cfg *rest.Config, namespace string, logger logr.Logger) error {
	if addr == "" {
		return nil
	}
	// Its own Git cache: the controller's Fetcher does not share its
	// per-repository locks with another.
	gitCache := filepath.Join(os.TempDir(), "meshintent-ui-git")
	srv, err := ui.New(ui.Options{Config: cfg, Namespace: namespace, Auth: true, GitCacheDir: gitCache, Logger: logger.WithName("ui")})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ui: listening on %s: %w", addr, err)
	}
	if err := mgr.Add(srv.Runnable(l)); err != nil {
		_ = l.Close()
		return err
	}
	logger.Info("serving the UI", "address", l.Addr().String())
	return nil
}

// Package faults runs the real controller (`reconciler run`, as a
// subprocess) against a real kube-apiserver and etcd with the Istio CRDs,
// fed from real Git repositories over smart HTTP on 127.0.0.1, and breaks
// things under it: the API server, etcd, the Git server, the repository's
// history, the controller's cache and the controller itself. Each scenario
// ends with the cluster equal to the render of the last good commit, every
// object there exactly once, the inventory exact, and a status that told the
// truth while the fault was on.
//
// The package runs its own control plane rather than testenv.Main's, so
// that kube-apiserver and etcd can be stopped and started again on the same
// ports, certificates and data directory.
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/meshintent/meshintent/internal/testenv"
)

var (
	// cp is the package's control plane.
	cp *controlPlane
	// reconcilerBin is `reconciler` built from cmd/reconciler.
	reconcilerBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The test's own clients log nothing worth reading.
	ctrllog.SetLogger(logr.Discard())
	tmp, err := os.MkdirTemp("", "meshintent-faults-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := testenv.ModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}

	// The controller binary builds while the control plane starts.
	var wg sync.WaitGroup
	var buildErr error
	reconcilerBin = filepath.Join(tmp, "reconciler")
	wg.Go(func() {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", reconcilerBin, "./cmd/reconciler")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building cmd/reconciler: %w\n%s", err, out)
		}
	})

	c, err := startControlPlane(ctx, root, tmp)
	wg.Wait()
	if c != nil {
		// Stop the control plane when the run is interrupted, so that
		// kube-apiserver and etcd do not outlive it.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			_ = c.env.Stop()
			os.Exit(130)
		}()
		defer signal.Stop(sig)
	}
	if err = errors.Join(err, buildErr); err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		if c != nil {
			_ = c.env.Stop()
		}
		return 1
	}
	cp = c
	code := m.Run()
	if err := c.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: stopping the control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// controlPlane is kube-apiserver and etcd whose processes can be restarted
// in place: the certificate and data directories are fixed, so a restarted
// API server serves the same certificates on the same port from the same
// data, and clients made before the restart keep working.
type controlPlane struct {
	env *envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client uses testenv.NewScheme().
	Client client.Client
	// Kubeconfig is a kubeconfig file for an administrator.
	Kubeconfig string

	// mu serialises restarts.
	mu sync.Mutex
}

// startControlPlane starts kube-apiserver and etcd with their directories
// under dir and installs the Istio CRDs and the IntentSync CRD.
func startControlPlane(ctx context.Context, root, dir string) (*controlPlane, error) {
	assets, err := testenv.Assets(ctx, root)
	if err != nil {
		return nil, err
	}
	crds, err := testenv.IstioCRDs(ctx, root)
	if err != nil {
		return nil, err
	}
	certDir, dataDir := filepath.Join(dir, "apiserver"), filepath.Join(dir, "etcd")
	for _, d := range []string{certDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	scheme := testenv.NewScheme()
	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{CertDir: certDir},
			Etcd:      &envtest.Etcd{DataDir: dataDir},
		},
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{crds, filepath.Join(root, "config", "crd", "bases")},
			ErrorIfPathMissing: true,
			MaxTime:            60 * time.Second,
		},
		ControlPlaneStartTimeout: 90 * time.Second,
		// kube-apiserver's graceful shutdown waits up to --request-timeout
		// (1m) for clients to close their watches, which a running
		// controller never does: like the kubelet after a pod's grace
		// period, envtest kills it after this.
		ControlPlaneStopTimeout: stopGrace,
	}
	cfg, err := te.Start()
	if err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("starting control plane from %s: %w", assets, err)
	}
	c := &controlPlane{env: te, Config: cfg}
	fail := func(err error) (*controlPlane, error) {
		_ = te.Stop()
		return nil, err
	}
	// The test's own reads must not be throttled on the client side.
	cfg.QPS, cfg.Burst = 200, 400
	if c.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return fail(fmt.Errorf("creating client: %w", err))
	}
	user, err := te.AddUser(envtest.User{Name: "faults-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fail(fmt.Errorf("adding kubeconfig user: %w", err))
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fail(fmt.Errorf("rendering kubeconfig: %w", err))
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		return fail(err)
	}
	return c, nil
}

// stop ends kube-apiserver and etcd. One killed after stopGrace is no
// failure: its graceful shutdown is not under test here.
func (c *controlPlane) stop() error {
	err := c.env.Stop()
	var agg kerrors.Aggregate
	if errors.As(err, &agg) && !slices.ContainsFunc(agg.Errors(), func(e error) bool { return !isStopTimeout(e) }) {
		fmt.Fprintf(os.Stderr, "faults: %v (killed after %s)\n", err, stopGrace)
		return nil
	}
	return err
}

// isStopTimeout reports whether err is envtest's "timeout waiting for
// process … to stop", after which it killed the process.
func isStopTimeout(err error) bool {
	return strings.Contains(err.Error(), "timeout waiting for process")
}

// stopGrace is how long kube-apiserver and etcd get to stop after SIGTERM
// before they are killed.
const stopGrace = 5 * time.Second

// StopAPIServer stops kube-apiserver as a rolling restart does: SIGTERM,
// then SIGKILL when it has not exited after stopGrace.
func (c *controlPlane) StopAPIServer(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.env.ControlPlane.APIServer.Stop(); err != nil {
		if !isStopTimeout(err) {
			t.Fatalf("stopping kube-apiserver: %v", err)
		}
		t.Logf("kube-apiserver was killed %s after SIGTERM: %v", stopGrace, err)
	}
}

// StartAPIServer starts kube-apiserver again on the same port with the same
// certificates and waits until it is healthy.
func (c *controlPlane) StartAPIServer(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.env.ControlPlane.APIServer.Start(); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
	c.waitHealthy(t)
}

// StopEtcd stops etcd (SIGTERM), leaving kube-apiserver running.
func (c *controlPlane) StopEtcd(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.env.ControlPlane.Etcd.Stop(); err != nil {
		t.Fatalf("stopping etcd: %v", err)
	}
}

// StartEtcd starts etcd again on the same client URL with the same data
// directory and waits until kube-apiserver serves from it again.
func (c *controlPlane) StartEtcd(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.env.ControlPlane.Etcd.Start(); err != nil {
		t.Fatalf("starting etcd again: %v", err)
	}
	c.waitHealthy(t)
}

// waitHealthy waits until the API server is ready, etcd included (reads
// may be served from its watch cache while etcd is down, so a read proves
// nothing).
func (c *controlPlane) waitHealthy(t *testing.T) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

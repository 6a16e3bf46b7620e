// Package testenv runs a real Kubernetes control plane (kube-apiserver and
// etcd through controller-runtime's envtest) with the Istio CRDs and
// meshintent's IntentSync CRD installed: the one control-plane harness of
// the package tests that talk to a cluster, the e2e and fault suites, the
// benchmarks and the demo. A restartable control plane (Options.Restartable)
// lets the fault suite stop and start kube-apiserver and etcd in place.
//
// Start it once per package from TestMain:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { testenv.Main(m, &env) }
//
// and give every test its own namespace with env.Namespace(t).
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ModulePath is the module whose root Start looks for.
const ModulePath = "github.com/meshintent/meshintent"

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client uses Scheme; it also handles *unstructured.Unstructured.
	Client client.Client
	// Scheme is NewScheme().
	Scheme *runtime.Scheme
	// Assets is the directory holding kube-apiserver and etcd.
	Assets string

	env *envtest.Environment
	// dir holds the certificates and data of a restartable control plane.
	dir string
	// tolerateKill makes a kill after the stop timeout no error of Stop.
	tolerateKill bool
	// mu serialises restarts.
	mu sync.Mutex
}

// NewScheme returns a scheme with the built-in Kubernetes types,
// CustomResourceDefinition, Istio's networking, security and telemetry v1
// types and meshintent.io/v1alpha1 (IntentSync).
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(networkingv1.AddToScheme(s))
	utilruntime.Must(securityv1.AddToScheme(s))
	utilruntime.Must(telemetryv1.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// Options configure StartWithOptions and Run. The zero value is what Start
// and Main use.
type Options struct {
	// Restartable keeps the API server's certificates and etcd's data in a
	// directory of the Env's own (removed by Stop), so that StopAPIServer,
	// StartAPIServer, StopEtcd and StartEtcd can restart them in place: a
	// restarted API server serves the same certificates on the same port
	// from the same data, and clients made before keep working.
	Restartable bool
	// StopTimeout is how long kube-apiserver and etcd get to stop after
	// SIGTERM before they are killed; zero means 30s. When it is set, a
	// process killed after it is not an error of Stop: set it when tests
	// leave clients watching (kube-apiserver's graceful shutdown waits up
	// to a minute for watches to close, which a running controller never
	// does).
	StopTimeout time.Duration
	// Setup, when set, runs in Run after the control plane has started and
	// before the tests (for example to write a kubeconfig or wait for a
	// binary built meanwhile); its error ends the run like a failed start.
	Setup func(ctx context.Context, env *Env) error
}

// Start starts kube-apiserver and etcd from the directory in KUBEBUILDER_ASSETS
// or, when that is unset, the one test/tools/install.sh prints on its last
// line; installs the Istio CRDs shipped in istio.io/api's module directory
// and the IntentSync CRD from config/crd/bases, and waits until they are
// served. Stop must be called to end the processes.
func Start(ctx context.Context) (*Env, error) { return StartWithOptions(ctx, Options{}) }

// StartWithOptions is Start with options (see Options; Setup is Run's).
func StartWithOptions(ctx context.Context, opts Options) (*Env, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	assets, err := Assets(ctx, root)
	if err != nil {
		return nil, err
	}
	crds, err := IstioCRDs(ctx, root)
	if err != nil {
		return nil, err
	}
	stopTimeout := opts.StopTimeout
	if stopTimeout == 0 {
		stopTimeout = 30 * time.Second
	}
	scheme := NewScheme()
	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{crds, filepath.Join(root, "config", "crd", "bases")},
			ErrorIfPathMissing: true,
			MaxTime:            60 * time.Second,
		},
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  stopTimeout,
	}
	e := &Env{Scheme: scheme, Assets: assets, env: te, tolerateKill: opts.StopTimeout > 0}
	if opts.Restartable {
		if e.dir, err = os.MkdirTemp("", "meshintent-testenv-"); err != nil {
			return nil, fmt.Errorf("making control plane directory: %w", err)
		}
		certDir, dataDir := filepath.Join(e.dir, "apiserver"), filepath.Join(e.dir, "etcd")
		for _, d := range []string{certDir, dataDir} {
			if err := os.Mkdir(d, 0o700); err != nil {
				_ = os.RemoveAll(e.dir)
				return nil, fmt.Errorf("making control plane directory: %w", err)
			}
		}
		te.ControlPlane = envtest.ControlPlane{
			APIServer: &envtest.APIServer{CertDir: certDir},
			Etcd:      &envtest.Etcd{DataDir: dataDir},
		}
	}
	cfg, err := te.Start()
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("starting control plane from %s: %w", assets, err)
	}
	// The tests of a package may run in parallel; the default limits of
	// client-go (5 QPS) would make them crawl.
	cfg.QPS, cfg.Burst = 200, 400
	e.Config = cfg
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return e, nil
}

// Stop ends the control plane and removes its temporary directories. With
// Options.StopTimeout set, a process killed after that timeout is only
// reported on standard error.
func (e *Env) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	err := e.env.Stop()
	var agg kerrors.Aggregate
	if e.tolerateKill && errors.As(err, &agg) && !slices.ContainsFunc(agg.Errors(), func(err error) bool { return !IsStopTimeout(err) }) {
		fmt.Fprintf(os.Stderr, "testenv: %v (killed after %s)\n", err, e.env.ControlPlaneStopTimeout)
		err = nil
	}
	if e.dir != "" {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	if err != nil {
		return fmt.Errorf("stopping control plane: %w", err)
	}
	return nil
}

// IsStopTimeout reports whether err is envtest's "timeout waiting for
// process … to stop", after which it killed the process.
func IsStopTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), "timeout waiting for process")
}

// Main is a TestMain body: it starts the control plane into *env, runs the
// tests, stops it and exits. When the control plane cannot start, it prints
// why and exits with status 1 without running any test.
func Main(m *testing.M, env **Env) { os.Exit(Run(m, env, Options{})) }

// Run is Main with options, returning the exit code instead of exiting so
// that a TestMain can clean up after it.
func Run(m *testing.M, env **Env, opts Options) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := StartWithOptions(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	// Stop the control plane when the run is interrupted, so kube-apiserver
	// and etcd do not outlive it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		<-sig
		_ = e.Stop()
		os.Exit(130)
	}()
	if opts.Setup != nil {
		if err := opts.Setup(ctx, e); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
			_ = e.Stop()
			return 1
		}
	}
	cancel()
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Assets returns the directory holding kube-apiserver and etcd: the value
// of KUBEBUILDER_ASSETS when set, otherwise the last line printed by
// <root>/test/tools/install.sh (which builds or links the binaries into a
// cache the first time and is quick afterwards).
func Assets(ctx context.Context, root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	script := filepath.Join(root, "test", "tools", "install.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = filepath.Dir(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	dir := lastLine(out)
	if dir == "" {
		return "", fmt.Errorf("running %s: it printed no assets directory", script)
	}
	return dir, nil
}

func lastLine(b []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// IstioCRDs returns the path of customresourcedefinitions.gen.yaml in the
// module directory of istio.io/api, as resolved by `go list -m` from root,
// so the CRDs always match the version in go.mod.
func IstioCRDs(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating istio.io/api: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("locating istio.io/api: module is not downloaded; run go mod download istio.io/api")
	}
	path := filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("locating Istio CRDs: %w", err)
	}
	return path, nil
}

// ModuleRoot walks up from the working directory (a test's package
// directory) to the go.mod that declares ModulePath. Nested modules such as
// test/tools are passed over.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding module root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(b, ModulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding module root: no go.mod for %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// NamespaceName returns a fresh namespace name derived from the test's name
// (lowercase, at most 63 characters, unique within the control plane's
// lifetime). It does not create the namespace.
func NamespaceName(t testing.TB) string {
	t.Helper()
	base := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	base = strings.Trim(base, "-")
	if len(base) > 48 {
		base = strings.TrimRight(base[len(base)-48:], "-")
		base = strings.TrimLeft(base, "-")
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random namespace suffix: %v", err)
	}
	if base == "" {
		base = "test"
	}
	return base + "-" + hex.EncodeToString(b[:])
}

// Namespace creates a fresh namespace for the test (see NamespaceName) and
// returns its name. It is not deleted afterwards: envtest runs no namespace
// controller, so deletion would never finish, and names never repeat.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: NamespaceName(t)}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	return ns.Name
}

// Kubeconfig writes a kubeconfig file for an administrator of the control
// plane into the test's temporary directory and returns its path, for
// tests that run kubectl or a CLI.
func (e *Env) Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := e.WriteKubeconfig(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteKubeconfig writes a kubeconfig file for an administrator of the
// control plane to path (mode 0600).
func (e *Env) WriteKubeconfig(path string) error {
	b, err := e.AdminKubeconfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// AdminKubeconfig returns a kubeconfig for an administrator of the control
// plane.
func (e *Env) AdminKubeconfig() ([]byte, error) {
	user, err := e.env.AddUser(envtest.User{Name: "testenv-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding kubeconfig user: %w", err)
	}
	b, err := user.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("rendering kubeconfig: %w", err)
	}
	return b, nil
}

// StopAPIServer stops kube-apiserver as a rolling restart does: SIGTERM,
// then SIGKILL when it has not exited after the stop timeout (which is no
// error). The Env must have been started Restartable.
func (e *Env) StopAPIServer(ctx context.Context) error {
	return e.stopProcess("kube-apiserver", e.env.ControlPlane.APIServer)
}

// StartAPIServer starts kube-apiserver again on the same port with the same
// certificates and waits until it is ready. The Env must have been started
// Restartable.
func (e *Env) StartAPIServer(ctx context.Context) error {
	return e.startProcess(ctx, "kube-apiserver", e.env.ControlPlane.APIServer)
}

// StopEtcd stops etcd (SIGTERM, then SIGKILL after the stop timeout),
// leaving kube-apiserver running. The Env must have been started
// Restartable.
func (e *Env) StopEtcd(ctx context.Context) error {
	return e.stopProcess("etcd", e.env.ControlPlane.Etcd)
}

// StartEtcd starts etcd again on the same client URL with the same data
// directory and waits until kube-apiserver serves from it again. The Env
// must have been started Restartable.
func (e *Env) StartEtcd(ctx context.Context) error {
	return e.startProcess(ctx, "etcd", e.env.ControlPlane.Etcd)
}

// process is kube-apiserver or etcd as envtest runs it.
type process interface {
	Start() error
	Stop() error
}

func (e *Env) stopProcess(name string, p process) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := p.Stop(); err != nil && !IsStopTimeout(err) {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	return nil
}

func (e *Env) startProcess(ctx context.Context, name string, p process) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := p.Start(); err != nil {
		return fmt.Errorf("starting %s again: %w", name, err)
	}
	return e.WaitReady(ctx)
}

// WaitReady polls the API server's /readyz, etcd included, until it answers
// ok or ctx ends. (Reads may be served from the watch cache while etcd is
// down, so a successful read proves nothing.)
func (e *Env) WaitReady(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("creating clientset: %w", err)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the API server to be ready: %w (last: %w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Eventually calls f every 100ms until it returns nil or timeout passes,
// then fails the test with f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// List returns the objects of the kinds gvks in namespace ns (all
// namespaces when ns is empty), kind by kind in the order given, each
// with its kind set.
func (e *Env) List(ctx context.Context, ns string, gvks ...schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	for _, gvk := range gvks {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := e.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing %s in %q: %w", gvk.Kind, ns, err)
		}
		for _, u := range list.Items {
			u.SetGroupVersionKind(gvk)
			out = append(out, u)
		}
	}
	return out, nil
}

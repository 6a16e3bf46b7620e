// Package testenv runs a real Kubernetes control plane (kube-apiserver and
// etcd through controller-runtime's envtest) with the Istio CRDs and
// meshintent's IntentSync CRD installed, for the tests of packages that talk
// to a cluster, and for the demo.
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
	"strings"
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
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
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

// Start starts kube-apiserver and etcd from the directory in KUBEBUILDER_ASSETS
// or, when that is unset, the one test/tools/install.sh prints on its last
// line; installs the Istio CRDs shipped in istio.io/api's module directory
// and the IntentSync CRD from config/crd/bases, and waits until they are
// served. Stop must be called to end the processes.
func Start(ctx context.Context) (*Env, error) {
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
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := te.Start()
	if err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("starting control plane from %s: %w", assets, err)
	}
	// The tests of a package may run in parallel; the default limits of
	// client-go (5 QPS) would make them crawl.
	cfg.QPS, cfg.Burst = 200, 400
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, Assets: assets, env: te}, nil
}

// Stop ends the control plane and removes its temporary directories.
func (e *Env) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	if err := e.env.Stop(); err != nil {
		return fmt.Errorf("stopping control plane: %w", err)
	}
	return nil
}

// Main is a TestMain body: it starts the control plane into *env, runs the
// tests, stops it and exits. When the control plane cannot start, it prints
// why and exits with status 1 without running any test.
func Main(m *testing.M, env **Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	e, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		os.Exit(1)
	}
	*env = e
	// Stop the control plane when the run is interrupted, so kube-apiserver
	// and etcd do not outlive it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		_ = e.Stop()
		os.Exit(130)
	}()
	code := m.Run()
	signal.Stop(sig)
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
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
	user, err := e.env.AddUser(envtest.User{Name: "testenv-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding kubeconfig user: %w", err)
	}
	b, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

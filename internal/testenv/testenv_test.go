package testenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

func TestEnv(t *testing.T) {
	ctx := context.Background()

	t.Run("the Istio CRDs are installed and served", func(t *testing.T) {
		ns := env.Namespace(t)
		vs := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.istio.io/v1",
			"kind":       "VirtualService",
			"metadata":   map[string]any{"name": "reviews", "namespace": ns},
			"spec": map[string]any{
				"hosts": []any{"reviews"},
				"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "reviews"}}}}},
			},
		}}
		if err := env.Client.Create(ctx, vs); err != nil {
			t.Fatalf("creating VirtualService: %v", err)
		}
		for _, name := range []string{
			"virtualservices.networking.istio.io",
			"destinationrules.networking.istio.io",
			"telemetries.telemetry.istio.io",
			"authorizationpolicies.security.istio.io",
			"peerauthentications.security.istio.io",
		} {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				t.Errorf("getting CRD %s: %v", name, err)
			}
		}
	})

	t.Run("each call to Namespace creates a different namespace", func(t *testing.T) {
		a, b := env.Namespace(t), env.Namespace(t)
		if a == b {
			t.Fatalf("Namespace returned %q twice", a)
		}
		for _, name := range []string{a, b} {
			var ns corev1.Namespace
			if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
				t.Errorf("getting namespace %s: %v", name, err)
			}
			if len(name) > 63 {
				t.Errorf("namespace name %q is longer than 63 characters", name)
			}
		}
	})

	t.Run("the kubeconfig file lets kubectl reach the API server", func(t *testing.T) {
		// install.sh links kubectl into the assets directory; PATH is the
		// fallback for KUBEBUILDER_ASSETS set by hand.
		kubectl, err := exec.LookPath(filepath.Join(env.Assets, "kubectl"))
		if err != nil {
			if kubectl, err = exec.LookPath("kubectl"); err != nil {
				t.Skip("kubectl is neither in the assets directory nor on PATH")
			}
		}
		ns := env.Namespace(t)
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", env.Kubeconfig(t), "get", "namespace", ns, "-o", "name").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl: %v: %s", err, out)
		}
		if diff := cmp.Diff("namespace/"+ns, strings.TrimSpace(string(out))); diff != "" {
			t.Errorf("kubectl output (-want +got):\n%s", diff)
		}
	})

	t.Run("the module root holds the install script", func(t *testing.T) {
		root, err := testenv.ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(root + "/test/tools/install.sh"); err != nil {
			t.Errorf("install script: %v", err)
		}
	})
}

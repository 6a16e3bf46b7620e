package testenv_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
		objs, err := env.List(ctx, ns, vs.GroupVersionKind(), schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, u := range objs {
			listed = append(listed, u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName())
		}
		if diff := cmp.Diff([]string{"VirtualService/" + ns + "/reviews"}, listed); diff != "" {
			t.Errorf("List (-want +got):\n%s", diff)
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

// TestRestartable starts a second, restartable control plane and restarts
// kube-apiserver and etcd in place: objects written before a restart are
// read back after it with the client made before it.
func TestRestartable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	re, err := testenv.StartWithOptions(ctx, testenv.Options{Restartable: true, StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = re.Stop()
		}
	})
	ns := re.Namespace(t)
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name, cm.Data = ns, "kept", map[string]string{"k": "v"}
	if err := re.Client.Create(ctx, cm); err != nil {
		t.Fatalf("creating ConfigMap: %v", err)
	}

	for _, tc := range []struct {
		name        string
		stop, start func(context.Context) error
	}{
		{"kube-apiserver", re.StopAPIServer, re.StartAPIServer},
		{"etcd", re.StopEtcd, re.StartEtcd},
	} {
		t.Run(tc.name+" stopped and started again serves the same data to the same client", func(t *testing.T) {
			if err := tc.stop(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.name == "kube-apiserver" {
				if err := re.Client.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err == nil {
					t.Fatal("reading a ConfigMap with kube-apiserver stopped succeeded")
				}
			}
			if err := tc.start(ctx); err != nil {
				t.Fatal(err)
			}
			var got corev1.ConfigMap
			if err := re.Client.Get(ctx, client.ObjectKeyFromObject(cm), &got); err != nil {
				t.Fatalf("reading ConfigMap after the restart: %v", err)
			}
			if diff := cmp.Diff(cm.Data, got.Data); diff != "" {
				t.Errorf("ConfigMap data after the restart (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("Eventually retries until f succeeds", func(t *testing.T) {
		n := 0
		testenv.Eventually(t, 5*time.Second, func() error {
			if n++; n < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		if n != 3 {
			t.Errorf("f ran %d times, want 3", n)
		}
	})

	stopped = true
	if err := re.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

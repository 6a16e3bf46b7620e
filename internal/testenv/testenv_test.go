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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/testenv"
)

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

// TestResourceVersions checks that the snapshot moves with a write and
// only with a write, in the namespace asked for.
func TestResourceVersions(t *testing.T) {
	ctx := context.Background()
	ns, other := env.Namespace(t), env.Namespace(t)
	cms := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	for _, n := range []string{ns, other} {
		cm := &corev1.ConfigMap{}
		cm.Namespace, cm.Name, cm.Data = n, "a", map[string]string{"k": "v"}
		if err := env.Client.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	before := env.ResourceVersions(t, ns, cms)
	if _, ok := before["ConfigMap/"+ns+"/a"]; !ok {
		t.Fatalf("ResourceVersions = %v, want ConfigMap/%s/a among them", before, ns)
	}
	if _, ok := before["ConfigMap/"+other+"/a"]; ok {
		t.Errorf("ResourceVersions of %s lists an object of %s: %v", ns, other, before)
	}
	if _, ok := env.ResourceVersions(t, "", cms)["ConfigMap/"+other+"/a"]; !ok {
		t.Errorf("ResourceVersions of every namespace lacks ConfigMap/%s/a", other)
	}
	if diff := cmp.Diff(before, env.ResourceVersions(t, ns, cms)); diff != "" {
		t.Errorf("ResourceVersions moved with nothing written (-before +after):\n%s", diff)
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["k"] = "w"
	if err := env.Client.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if after := env.ResourceVersions(t, ns, cms); after["ConfigMap/"+ns+"/a"] == before["ConfigMap/"+ns+"/a"] {
		t.Errorf("ResourceVersions did not move with an update: %v", after)
	}
}

// TestWaitIntentSync writes an IntentSync's status as the controller
// would and checks what each check of WaitIntentSync accepts.
func TestWaitIntentSync(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh"},
		Spec: v1alpha1.IntentSyncSpec{
			Source:   v1alpha1.GitSource{URL: "https://example.com/mesh.git", Branch: "main"},
			Interval: metav1.Duration{Duration: time.Minute},
		},
	}
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	setReady := func(status metav1.ConditionStatus, reason, msg, rev string) {
		t.Helper()
		obj.Status.LastAppliedRevision = rev
		obj.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}}
		if err := env.Client.Status().Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	setReady(metav1.ConditionFalse, v1alpha1.ReasonFetchFailed, "fetching: connection refused", "main@sha1:aaa")
	got := env.WaitIntentSync(t, obj, 10*time.Second, testenv.NotReady(v1alpha1.ReasonFetchFailed, "connection refused"))
	if c := testenv.Condition(got, v1alpha1.ConditionReady); c.Reason != v1alpha1.ReasonFetchFailed {
		t.Errorf("WaitIntentSync returned Ready %+v, want the FetchFailed one", c)
	}
	if c := testenv.Condition(got, v1alpha1.ConditionStalled); c.Type != v1alpha1.ConditionStalled || c.Status != "" {
		t.Errorf("Condition of a condition the IntentSync lacks = %+v, want an empty Stalled", c)
	}

	tests := []struct {
		name  string
		check func(*v1alpha1.IntentSync) error
		ok    bool
	}{
		{"ReadyAt refuses Ready=False", testenv.ReadyAt("main@sha1:aaa"), false},
		{"ReadyReason accepts the reason whatever the status", testenv.ReadyReason(v1alpha1.ReasonFetchFailed), true},
		{"ReadyReason refuses another reason", testenv.ReadyReason(v1alpha1.ReasonSynced), false},
		{"NotReady with no reason accepts any False", testenv.NotReady(""), true},
		{"NotReady refuses a message lacking a part", testenv.NotReady(v1alpha1.ReasonFetchFailed, "timed out"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(got); (err == nil) != tc.ok {
				t.Errorf("check = %v, want ok %t", err, tc.ok)
			}
		})
	}

	setReady(metav1.ConditionTrue, v1alpha1.ReasonSynced, "applied", "main@sha1:bbb")
	if got = env.WaitIntentSync(t, obj, 10*time.Second, testenv.ReadyAt("main@sha1:bbb")); got.Status.LastAppliedRevision != "main@sha1:bbb" {
		t.Errorf("WaitIntentSync(ReadyAt) returned revision %q", got.Status.LastAppliedRevision)
	}
	if err := testenv.NotReady("")(got); err == nil {
		t.Error("NotReady accepted Ready=True")
	}
}

func TestBuild(t *testing.T) {
	t.Run("a package of the module builds", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "reconciler")
		if err := testenv.Build(t.Context(), "./cmd/reconciler", bin, "CGO_ENABLED=0"); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "kustomize") {
			t.Errorf("the binary built does not print its version: %v\n%s", err, out)
		}
	})
	t.Run("a package that does not exist is an error naming it", func(t *testing.T) {
		err := testenv.Build(t.Context(), "./cmd/nothing-here", filepath.Join(t.TempDir(), "x"))
		if err == nil || !strings.Contains(err.Error(), "./cmd/nothing-here") {
			t.Errorf("err = %v, want one naming ./cmd/nothing-here", err)
		}
	})
}

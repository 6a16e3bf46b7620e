package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestDeployedRBACIsEnough installs config/default with kubectl, then runs
// the controller as the reconciler's ServiceAccount (impersonated, so the
// API server enforces the ClusterRole and Role) and checks that an
// IntentSync following a repository over HTTP becomes Ready with its objects
// applied: the least-privilege rules are sufficient. It also checks that
// they are no more: the ServiceAccount can read Secrets only in its own
// namespace and where a RoleBinding grants it, and list them nowhere.
func TestDeployedRBACIsEnough(t *testing.T) {
	ctx := t.Context()
	kubeconfig := env.Kubeconfig(t)
	kubectl := func(args ...string) {
		t.Helper()
		out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	kubectl("apply", "--server-side", "-k", "../../config/default")
	kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/intentsyncs.meshintent.io")

	// A small intent repository for a namespace of this test's own.
	ns := env.Namespace(t)
	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", "resources:\n- namespace.yaml\n- cart.yaml\n")
	repo.Write("namespace.yaml", fmt.Sprintf("apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata:\n  name: %s\nspec:\n  dataplane: sidecar\n  tracing:\n    provider: zipkin\n    samplingPercentage: 5\n", ns))
	repo.Write("cart.yaml", fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: cart
  namespace: %s
spec:
  versions: [{name: v1}, {name: v2}]
  split: [{version: v1, weight: 90}, {version: v2, weight: 10}]
  trafficPolicy: {tls: ISTIO_MUTUAL}
`, ns))
	sha := repo.Commit("cart canary")
	srv := gitfixture.Serve(t, repo.Dir)

	// The controller, as the ServiceAccount.
	sa := rest.CopyConfig(env.Config)
	sa.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:meshintent-system:meshintent-reconciler",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:meshintent-system", "system:authenticated"},
	}

	// Secrets: readable in meshintent-system and in a namespace that binds
	// the secret-reader ClusterRole, nowhere else, and never listable.
	// The IntentSync's namespace gets the binding (and a credentials
	// Secret the IntentSync names); another namespace does not.
	asSA, err := client.New(sa, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	other := env.Namespace(t)
	create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-credentials", Namespace: ns}, StringData: map[string]string{"username": "git", "password": "not-needed-by-the-test-server"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: other}, StringData: map[string]string{"token": "private"}})
	kubectl("-n", ns, "create", "rolebinding", "meshintent-reconciler-secrets",
		"--clusterrole="+controller.SecretReaderClusterRole, "--serviceaccount=meshintent-system:meshintent-reconciler")
	secretAccess := []struct {
		what        string
		do          func() error
		wantAllowed bool
	}{
		{"get a Secret in meshintent-system", func() error {
			return asSA.Get(ctx, client.ObjectKey{Namespace: "meshintent-system", Name: "meshintent-webhook"}, &corev1.Secret{})
		}, true},
		{"get a Secret in a namespace that binds the secret reader", func() error {
			return asSA.Get(ctx, client.ObjectKey{Namespace: ns, Name: "git-credentials"}, &corev1.Secret{})
		}, true},
		{"get a Secret in any other namespace", func() error {
			return asSA.Get(ctx, client.ObjectKey{Namespace: other, Name: "someone-elses"}, &corev1.Secret{})
		}, false},
		{"list Secrets across the cluster", func() error { return asSA.List(ctx, &corev1.SecretList{}) }, false},
		{"list Secrets in its own namespace", func() error {
			return asSA.List(ctx, &corev1.SecretList{}, client.InNamespace("meshintent-system"))
		}, false},
	}
	for _, c := range secretAccess {
		err := c.do()
		if allowed := !apierrors.IsForbidden(err); allowed != c.wantAllowed {
			t.Errorf("the ServiceAccount can %s: %v, want %v (error: %v)", c.what, allowed, c.wantAllowed, err)
		}
		if err != nil && !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v", c.what, err)
		}
	}
	mgr, err := controller.NewManager(controller.Options{
		Config:                  sa,
		CacheDir:                t.TempDir(),
		LeaderElection:          true,
		LeaderElectionNamespace: "meshintent-system",
		Logger:                  logr.Discard(),
	})
	if err != nil {
		t.Fatalf("starting the controller as the ServiceAccount: %v", err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()

	sync := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: ns}, // a team namespace: the ClusterRole, not the Role, must cover it
		Spec: v1alpha1.IntentSyncSpec{
			Source: v1alpha1.GitSource{URL: srv.URL, Branch: "main", Path: ".",
				SecretRef: &v1alpha1.LocalObjectReference{Name: "git-credentials"}}, // readable through the RoleBinding
			Interval:          metav1.Duration{Duration: time.Hour},
			Prune:             true,
			DriftMode:         v1alpha1.DriftModeCorrect,
			AllowedNamespaces: []string{ns},
			DriftReport:       &v1alpha1.DriftReportSpec{Schedule: "@every 2s"},
		},
	}
	if err := env.Client.Create(ctx, sync); err != nil {
		t.Fatal(err)
	}
	var last v1alpha1.IntentSync
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sync), &last); err != nil {
			t.Fatal(err)
		}
		ready := apimeta.FindStatusCondition(last.Status.Conditions, v1alpha1.ConditionReady)
		if ready != nil && ready.Status == metav1.ConditionTrue {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not Ready within 60s as the ServiceAccount; conditions: %+v", last.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if want := "main@sha1:" + sha; last.Status.LastAppliedRevision != want {
		t.Errorf("lastAppliedRevision = %q, want %q", last.Status.LastAppliedRevision, want)
	}
	vs := mustGet(t, vsGVK, ns, "cart")
	if got := splitWeights(t, vs); len(got) != 2 || got[0] != 90 || got[1] != 10 {
		t.Errorf("cart weights = %v, want [90 10]", got)
	}
	live := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, live); err != nil {
		t.Fatal(err)
	}
	if live.Labels["istio-injection"] != "enabled" {
		t.Errorf("namespace labels = %v, want istio-injection=enabled", live.Labels)
	}

	// A scheduled drift report is written to its ConfigMap, as the
	// ServiceAccount too.
	deadline = time.Now().Add(30 * time.Second)
	for {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sync), &last); err != nil {
			t.Fatal(err)
		}
		if r := last.Status.DriftReport; r != nil && r.ConfigMap != "" && r.LastRunTime != nil {
			cm := &corev1.ConfigMap{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sync.Namespace, Name: r.ConfigMap}, cm); err != nil {
				t.Fatalf("drift report ConfigMap: %v", err)
			}
			if cm.Data["report.md"] == "" || cm.Data["report.json"] == "" {
				t.Errorf("drift report ConfigMap lacks report.md or report.json: %v", cm.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drift report within 30s as the ServiceAccount; status %+v, conditions %+v", last.Status.DriftReport, last.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/testenv"
)

// startRemote starts a second, restartable control plane for the test (the
// remote cluster), with ns created in it, and returns it with an
// administrator's kubeconfig for it.
func startRemote(t *testing.T, ns string) (*testenv.Env, []byte) {
	t.Helper()
	ctx := t.Context()
	remote, err := testenv.StartWithOptions(ctx, testenv.Options{Restartable: true, StopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("starting the remote control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := remote.Stop(); err != nil {
			t.Errorf("stopping the remote control plane: %v", err)
		}
	})
	kubeconfig, err := remote.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatalf("creating namespace %s in the remote cluster: %v", ns, err)
	}
	return remote, kubeconfig
}

// kubeconfigSecret stores a kubeconfig in Secret name of ns under key.
func kubeconfigSecret(t *testing.T, ns, name, key string, kubeconfig []byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{key: kubeconfig}}
	if err := env.Client.Create(t.Context(), s); err != nil {
		t.Fatalf("creating kubeconfig secret: %v", err)
	}
}

// remoteGet reads an object of the remote cluster.
func remoteGet(remote *testenv.Env, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(vsGVK)
	err := remote.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

// remoteSync returns a spec mutator syncing to the cluster of Secret
// secret, polling every interval.
func remoteSync(secret string, interval time.Duration) func(*v1alpha1.IntentSyncSpec) {
	return func(s *v1alpha1.IntentSyncSpec) {
		s.Interval.Duration = interval
		s.Prune = true
		s.KubeConfig = &v1alpha1.KubeConfigReference{SecretRef: v1alpha1.SecretKeyReference{Name: secret}}
	}
}

// TestRemoteCluster follows an IntentSync whose spec.kubeConfig names a
// second API server through its life: it applies there (and not in the
// controller's cluster), sees drift made there through the remote watch,
// prunes there, goes ClusterUnreachable alone when that API server stops
// while an IntentSync of the local cluster keeps syncing, recovers when it
// is back, and closes the remote watches when it is deleted.
func TestRemoteCluster(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	remote, kubeconfig := startRemote(t, ns)
	kubeconfigSecret(t, ns, "remote-kubeconfig", DefaultKubeConfigKey, kubeconfig)

	remoteRepo := newReviewsRepo(t, ns)
	localRepo := newIntentRepo(t, map[string]string{"ratings.yaml": serviceIntent(ns, "ratings", 70, 30)})
	m := startManager(t, ns, nil)
	far := newNamedIntentSync(t, ns, "far", remoteRepo, remoteSync("remote-kubeconfig", 2*time.Second))
	near := newNamedIntentSync(t, ns, "near", localRepo, func(s *v1alpha1.IntentSyncSpec) { s.Interval.Duration = 2 * time.Second })

	t.Run("it applies in the remote cluster only and names it in status", func(t *testing.T) {
		got := waitReady(t, far, "main@sha1:"+remoteRepo.head, 60*time.Second)
		if want := strings.TrimSuffix(remote.Config.Host, "/"); got.Status.Cluster != want {
			t.Errorf("status.cluster = %q, want %q", got.Status.Cluster, want)
		}
		vs, err := remoteGet(remote, ns, "reviews")
		if err != nil {
			t.Fatalf("VirtualService reviews in the remote cluster: %v", err)
		}
		if diff := cmp.Diff([]int64{80, 20}, weights(vs)); diff != "" {
			t.Errorf("remote weights (-want +got):\n%s", diff)
		}
		env.CheckAbsent(t, vsGVK, ns, "reviews")
		inv := &corev1.ConfigMap{}
		if err := remote.Client.Get(t.Context(), client.ObjectKey{Namespace: "meshintent-system", Name: ns + ".far"}, inv); err != nil {
			t.Errorf("inventory in the remote cluster: %v", err)
		}
		if near := waitReady(t, near, "main@sha1:"+localRepo.head, 30*time.Second); near.Status.Cluster != "" {
			t.Errorf("local IntentSync's status.cluster = %q, want empty", near.Status.Cluster)
		}
	})

	t.Run("drift made in the remote cluster is seen by its watch", func(t *testing.T) {
		before := m.driftCount(far)
		setRemoteWeights(t, remote, ns, "reviews", 10, 90)
		got := waitReason(t, far, v1alpha1.ReasonDriftDetected, 30*time.Second)
		if !strings.Contains(condition(got, v1alpha1.ConditionReady).Message, "VirtualService/"+ns+"/reviews") {
			t.Errorf("Ready message %q does not name the drifted VirtualService", condition(got, v1alpha1.ConditionReady).Message)
		}
		m.waitDriftChecks(t, far, before, 10*time.Second) // the remote watch's
	})

	t.Run("a new revision prunes in the remote cluster", func(t *testing.T) {
		remoteRepo.Remove("reviews.yaml")
		head := remoteRepo.commit(map[string]string{"details.yaml": serviceIntent(ns, "details", 50, 50)})
		got := waitReady(t, far, "main@sha1:"+head, 30*time.Second)
		if _, err := remoteGet(remote, ns, "reviews"); !apierrors.IsNotFound(err) {
			t.Errorf("VirtualService reviews in the remote cluster: %v, want pruned", err)
		}
		// The history names what the apply pruned (the UI shows it).
		wantPruned := []string{"DestinationRule/" + ns + "/reviews", "VirtualService/" + ns + "/reviews"}
		var pruned []string
		if h := got.Status.History; len(h) > 0 {
			pruned = slices.Sorted(slices.Values(h[0].Pruned))
		}
		if !slices.Equal(pruned, wantPruned) {
			t.Errorf("history[0].pruned = %v, want %v", pruned, wantPruned)
		}
		if _, err := remoteGet(remote, ns, "details"); err != nil {
			t.Errorf("VirtualService details in the remote cluster: %v", err)
		}
	})

	t.Run("an unreachable remote marks only its IntentSyncs and recovers", func(t *testing.T) {
		ctx := context.Background()
		if err := remote.StopAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		restarted := false
		t.Cleanup(func() {
			if !restarted {
				_ = remote.StartAPIServer(ctx)
			}
		})
		got := waitReason(t, far, v1alpha1.ReasonClusterUnreachable, 30*time.Second)
		if msg := condition(got, v1alpha1.ConditionReady).Message; !strings.Contains(msg, strings.TrimSuffix(remote.Config.Host, "/")) {
			t.Errorf("Ready message %q does not name the cluster %s", msg, remote.Config.Host)
		}
		if condition(got, v1alpha1.ConditionStalled).Status == metav1.ConditionTrue {
			t.Error("an unreachable cluster stalled the IntentSync; want a retry with backoff")
		}
		if strings.Contains(condition(got, v1alpha1.ConditionReady).Message, "client-certificate-data") {
			t.Error("the Ready message quotes the kubeconfig")
		}

		// The local IntentSync keeps syncing meanwhile.
		head := localRepo.commit(map[string]string{"ratings.yaml": serviceIntent(ns, "ratings", 40, 60)})
		triggerSync(t, near)
		waitReady(t, near, "main@sha1:"+head, 30*time.Second)
		if w := weights(mustGet(t, vsGVK, ns, "ratings")); !cmp.Equal(w, []int64{40, 60}) {
			t.Errorf("local ratings weights %v, want [40 60]", w)
		}

		// The remote comes back on the same port and data.
		if err := remote.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		restarted = true
		waitReady(t, far, "main@sha1:"+remoteRepo.head, 60*time.Second)

		// Its watch works again: drift is seen.
		before := m.driftCount(far)
		setRemoteWeights(t, remote, ns, "details", 5, 95)
		waitReason(t, far, v1alpha1.ReasonDriftDetected, 60*time.Second)
		m.waitDriftChecks(t, far, before, 30*time.Second)
	})

	t.Run("deleting the last IntentSync of a cluster prunes there and closes its watches", func(t *testing.T) {
		if open := m.Reconciler.fleet.open(); len(open) != 1 {
			t.Fatalf("open remote clusters: %v, want one", open)
		}
		if err := env.Client.Delete(t.Context(), far.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			if _, err := remoteGet(remote, ns, "details"); !apierrors.IsNotFound(err) {
				return fmt.Errorf("VirtualService details in the remote cluster: %w, want pruned", err)
			}
			if open := m.Reconciler.fleet.open(); len(open) != 0 {
				return fmt.Errorf("open remote clusters: %v, want none", open)
			}
			return nil
		})
	})
}

// setRemoteWeights edits the weights of a VirtualService of the remote
// cluster as another field manager would (kubectl edit).
func setRemoteWeights(t *testing.T, remote *testenv.Env, ns, name string, v1, v2 int64) {
	t.Helper()
	vs, err := remoteGet(remote, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	route, _, _ := unstructured.NestedSlice(http[0].(map[string]any), "route")
	route[0].(map[string]any)["weight"] = v1
	route[1].(map[string]any)["weight"] = v2
	_ = unstructured.SetNestedSlice(http[0].(map[string]any), route, "route")
	_ = unstructured.SetNestedSlice(vs.Object, http, "spec", "http")
	if err := remote.Client.Update(t.Context(), vs, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatalf("editing %s in the remote cluster: %v", name, err)
	}
}

// triggerSync asks for a reconcile of obj now, as a webhook would.
func triggerSync(t *testing.T, obj *v1alpha1.IntentSync) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`,
		RequestedAtAnnotation, time.Now().Format(time.RFC3339Nano)))
	if err := env.Client.Patch(t.Context(), obj.DeepCopy(), patch); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedKubeconfigs checks that a kubeconfig which would make the
// controller run a command or read its own files is refused, naming what,
// and that one with inline credentials is accepted with its server URL.
func TestRefusedKubeconfigs(t *testing.T) {
	t.Parallel()
	const head = `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
clusters:
- name: k
  cluster:
    server: https://user:pw@10.0.0.1:6443/prefix
`
	cases := []struct {
		name   string
		config string
		// want is in the error; empty means accepted.
		want string
	}{
		{"inline credentials are accepted", head + clusterCA("certificate-authority-data: Zm9v") + "users:\n- name: u\n  user: {token: abc}\n", ""},
		{"an exec plugin is refused", head + "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/steal}\n", `runs an exec credential plugin ("/bin/steal")`},
		{"an auth provider is refused", head + "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n", `uses auth-provider "gcp"`},
		{"a client certificate file is refused", head + "users:\n- name: u\n  user: {client-certificate: /etc/ssl/cert.pem, client-key-data: Zm9v}\n", "reads client-certificate from a file"},
		{"a client key file is refused", head + "users:\n- name: u\n  user: {client-certificate-data: Zm9v, client-key: /etc/ssl/key.pem}\n", "reads client-key from a file"},
		{"a token file is refused", head + "users:\n- name: u\n  user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}\n", "reads tokenFile from a file"},
		{"a certificate authority file is refused", head + clusterCA("certificate-authority: /etc/ca.pem") + "users:\n- name: u\n  user: {token: abc}\n", "reads certificate-authority from a file"},
		{"no current context is refused", strings.Replace(head, "current-context: c", "", 1), "no current-context"},
		{"garbage is refused", "{{{", "not valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := parseKubeConfig([]byte(tc.config))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("parseKubeConfig: %v", err)
			case tc.want == "":
				if rc.server != "https://10.0.0.1:6443/prefix" {
					t.Errorf("server %q, want the URL without credentials", rc.server)
				}
			case err == nil:
				t.Fatalf("parseKubeConfig accepted it; want an error containing %q", tc.want)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}

	// In a cluster: the IntentSync stalls with ClusterUnreachable, saying
	// why, and the command never runs.
	ns := env.Namespace(t)
	marker := filepath.Join(t.TempDir(), "ran")
	exec := head + fmt.Sprintf("users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, 'touch %s']\n", marker)
	kubeconfigSecret(t, ns, "exec-kubeconfig", "config", []byte(exec))
	repo := newReviewsRepo(t, ns)
	startManager(t, ns, nil)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.KubeConfig = &v1alpha1.KubeConfigReference{SecretRef: v1alpha1.SecretKeyReference{Name: "exec-kubeconfig", Key: "config"}}
	})
	got := waitReason(t, obj, v1alpha1.ReasonClusterUnreachable, 30*time.Second)
	msg := condition(got, v1alpha1.ConditionReady).Message
	for _, want := range []string{"exec-kubeconfig", "exec credential plugin", "never runs commands"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not contain %q", msg, want)
		}
	}
	if condition(got, v1alpha1.ConditionStalled).Status != metav1.ConditionTrue {
		t.Error("a refused kubeconfig did not stall the IntentSync")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the exec plugin's command ran")
	}
	env.CheckAbsent(t, vsGVK, ns, "reviews")
}

// clusterCA adds a line to the cluster of the test kubeconfig's head.
func clusterCA(line string) string { return "    " + line + "\n" }

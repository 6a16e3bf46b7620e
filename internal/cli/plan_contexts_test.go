package cli

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/output"
)

// fleetKubeconfig starts a control plane per name and writes one kubeconfig
// holding a context of each name, plus the context "down", whose API server
// does not listen. ns is created in each cluster with a Service reviews.
func fleetKubeconfig(t *testing.T, ns string, names ...string) (string, map[string]*testenv.Env) {
	t.Helper()
	ctx := t.Context()
	merged := clientcmdapi.NewConfig()
	envs := map[string]*testenv.Env{}
	for _, name := range names {
		e, err := testenv.StartWithOptions(ctx, testenv.Options{StopTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("starting control plane %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := e.Stop(); err != nil {
				t.Errorf("stopping control plane %s: %v", name, err)
			}
		})
		envs[name] = e
		cfg, err := clientcmd.LoadFromFile(e.Kubeconfig(t))
		if err != nil {
			t.Fatal(err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		merged.Clusters[name] = cfg.Clusters[cur.Cluster]
		merged.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: ns},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "reviews"}, Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}},
		}
		if err := e.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	// "down": the first cluster's credentials, at a port nothing listens on.
	closed := "https://" + testenv.FreeAddr(t)
	down := *merged.Clusters[names[0]]
	down.Server = closed
	merged.Clusters["down"] = &down
	merged.AuthInfos["down"] = merged.AuthInfos[names[0]]
	merged.Contexts["down"] = &clientcmdapi.Context{Cluster: "down", AuthInfo: "down"}
	merged.CurrentContext = names[0]
	path := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path, envs
}

// TestPlanSeveralContexts plans a change against two real clusters of one
// kubeconfig, one running the base and one empty, and a third that does not
// answer: the revisions are rendered once, each cluster gets its own
// section, and the unreachable one is reported without hiding the others.
func TestPlanSeveralContexts(t *testing.T) {
	t.Parallel()
	ns := testenv.NamespaceName(t)
	kubeconfig, envs := fleetKubeconfig(t, ns, "east", "west")
	inventory := "plan-" + ns

	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", gitfixture.Kustomization("reviews.yaml"))
	repo.Write("reviews.yaml", gitfixture.SplitIntent(ns, "reviews", 80, 20))
	base := repo.Commit("reviews 80/20")
	if code, _, stderr := run(t, "apply", repo.Dir, "--kubeconfig", kubeconfig, "--context", "east", "--inventory", inventory); code != ExitOK {
		t.Fatalf("applying base to east exited %d: %s", code, stderr)
	}
	eastBefore := envs["east"].ResourceVersions(t, ns,
		schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
		schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"})
	repo.Write("reviews.yaml", gitfixture.SplitIntent(ns, "reviews", 50, 50))
	head := repo.Commit("reviews 50/50")
	plan := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		return run(t, append([]string{"plan", repo.Dir, "--base", base, "--head", head,
			"--kubeconfig", kubeconfig, "--inventory", inventory, "--cache-dir", t.TempDir()}, args...)...)
	}
	vs := "VirtualService/" + ns + "/reviews"
	dr := "DestinationRule/" + ns + "/reviews"

	actions := func(c clusterPlan) []string {
		var out []string
		for _, a := range c.Live.Actions {
			out = append(out, string(a.Action)+" "+a.ID)
		}
		slices.Sort(out)
		return out
	}

	t.Run("each cluster gets its own actions and drift, in JSON", func(t *testing.T) {
		code, stdout, stderr := plan(t, "--context", "east,west", "-o", "json")
		if code != ExitOK {
			t.Fatalf("plan exited %d: %s", code, stderr)
		}
		got := decodeJSON[struct {
			output.PlanResult
			Clusters []clusterPlan `json:"clusters"`
		}](t, stdout)
		if got.Summary.Changed != 1 {
			t.Errorf("Git summary: %d changed, want 1 (the VirtualService)", got.Summary.Changed)
		}
		if len(got.Clusters) != 2 || got.Clusters[0].Context != "east" || got.Clusters[1].Context != "west" {
			t.Fatalf("clusters %+v, want east then west", got.Clusters)
		}
		for i, name := range []string{"east", "west"} {
			c := got.Clusters[i]
			if c.Error != "" || c.Live == nil {
				t.Fatalf("%s: error %q, live %v", name, c.Error, c.Live)
			}
			if want := strings.TrimSuffix(envs[name].Config.Host, "/"); strings.TrimSuffix(c.Server, "/") != want {
				t.Errorf("%s: server %q, want %q", name, c.Server, want)
			}
		}
		if diff := cmp.Diff([]string{"configured " + vs}, actions(got.Clusters[0])); diff != "" {
			t.Errorf("east actions (-want +got):\n%s", diff)
		}
		if d := got.Clusters[0].Live.Drift.Drifted; len(d) == 0 || d[0].Path != ".spec.http[0].route[0].weight" || d[0].Have != float64(80) || d[0].Want != float64(50) {
			t.Errorf("east drift %+v, want the v1 weight 80→50 first", d)
		}
		if diff := cmp.Diff([]string{"created " + dr, "created " + vs}, actions(got.Clusters[1])); diff != "" {
			t.Errorf("west actions (-want +got):\n%s", diff)
		}
	})

	t.Run("an unreachable cluster is reported, the others are planned, and the exit code says so", func(t *testing.T) {
		code, stdout, stderr := plan(t, "--context", "east", "--context", "down", "--context", "west")
		if code != ExitError {
			t.Errorf("plan exited %d, want %d", code, ExitError)
		}
		east := strings.Index(stdout, "cluster east (")
		down := strings.Index(stdout, "cluster down (")
		west := strings.Index(stdout, "cluster west (")
		if east < 0 || down < east || west < down {
			t.Fatalf("want sections east, down, west in order:\n%s", stdout)
		}
		if s := stdout[east:down]; !strings.Contains(s, vs+" configured") {
			t.Errorf("east section lacks the configured VirtualService:\n%s", s)
		}
		if s := stdout[down:west]; !strings.Contains(s, "ERROR ") || !strings.Contains(s, "connection refused") {
			t.Errorf("down section does not say the cluster refused the connection:\n%s", s)
		}
		if s := stdout[west:]; !strings.Contains(s, vs+" created") || !strings.Contains(s, dr+" created") {
			t.Errorf("west section lacks the objects to create:\n%s", s)
		}
		if !strings.Contains(stderr, "1 of 3 clusters could not be planned: down") {
			t.Errorf("stderr %q does not name the failed cluster", stderr)
		}
	})

	t.Run("planning wrote nothing to any cluster", func(t *testing.T) {
		vsGVK := schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
		drGVK := schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
		if got := envs["west"].ResourceVersions(t, ns, vsGVK, drGVK); len(got) != 0 {
			t.Errorf("west holds %v after the plans, want nothing", got)
		}
		if diff := cmp.Diff(eastBefore, envs["east"].ResourceVersions(t, ns, vsGVK, drGVK)); diff != "" {
			t.Errorf("east changed by the plans (-before +after):\n%s", diff)
		}
	})
}

// TestPlanContextFlag checks how --context parses several contexts and which
// outputs a multi-context plan takes, without a cluster.
func TestPlanContextFlag(t *testing.T) {
	t.Parallel()
	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", gitfixture.Kustomization("reviews.yaml"))
	repo.Write("reviews.yaml", gitfixture.SplitIntent("bookinfo", "reviews", 80, 20))
	base := repo.Commit("reviews")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a context given twice is refused", []string{"--context", "a,b", "--context", "a"}, `context "a" given twice`},
		{"an empty context name is refused", []string{"--context", "a,,b"}, "empty context name"},
		{"markdown is refused with several contexts", []string{"--context", "a,b", "-o", "markdown"}, "plan with several contexts writes -o text or json, not markdown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refuse(t, tt.want, append([]string{"plan", repo.Dir, "--base", base}, tt.args...)...)
		})
	}
}

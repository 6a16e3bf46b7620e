package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestPlanWithLiveDiff plans a pull request against a cluster that runs the
// base: the plan shows what head changes in Git and what it would change
// live, including an object the API server would reject.
func TestPlanWithLiveDiff(t *testing.T) {
	kubeconfig := env.Kubeconfig(t)
	ns := env.Namespace(t)
	// The Service the intent routes to: plan --kubeconfig runs the live
	// checks, which deny a route to a Service the namespace lacks.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "cart"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}
	create(t, svc)
	cart := func(v1, v2 int) string {
		return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: cart, namespace: %s}
spec:
  versions: [{name: v1}, {name: v2}]
  split: [{version: v1, weight: %d}, {version: v2, weight: %d}]
  trafficPolicy: {tls: ISTIO_MUTUAL}
`, ns, v1, v2)
	}
	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", "resources:\n- cart.yaml\n")
	repo.Write("cart.yaml", cart(90, 10))
	base := repo.Commit("cart")
	inventory := "plan-" + ns
	if code, _, _ := reconciler(t, "apply", repo.Dir, "--kubeconfig", kubeconfig, "--inventory", inventory); code != cli.ExitOK {
		t.Fatalf("applying base exited %d", code)
	}
	repo.Git("checkout", "-q", "-b", "canary")
	repo.Write("cart.yaml", cart(50, 50))
	repo.Commit("cart: 50/50")

	code, stdout, _ := reconciler(t, "plan", repo.Dir, "--base", base, "--head", "canary",
		"--kubeconfig", kubeconfig, "--inventory", inventory, "-o", "json", "--cache-dir", t.TempDir())
	if code != cli.ExitOK {
		t.Fatalf("plan exited %d", code)
	}
	var got struct {
		Live struct {
			Actions []struct {
				ID     string `json:"id"`
				Action string `json:"action"`
			} `json:"actions"`
			Drift struct {
				Drifted []struct {
					Path string `json:"path"`
					Want any    `json:"want"`
					Have any    `json:"have"`
				} `json:"drifted"`
			} `json:"drift"`
		} `json:"live"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, stdout)
	}
	var actions []string
	for _, a := range got.Live.Actions {
		actions = append(actions, a.Action+" "+a.ID)
	}
	if want := "configured VirtualService/" + ns + "/cart"; strings.Join(actions, ",") != want {
		t.Errorf("live actions %v, want [%s]", actions, want)
	}
	var paths []string
	for _, d := range got.Live.Drift.Drifted {
		paths = append(paths, fmt.Sprintf("%s %v→%v", d.Path, d.Have, d.Want))
	}
	if want := ".spec.http[0].route[0].weight 90→50"; len(paths) == 0 || paths[0] != want {
		t.Errorf("live field diff %v, want first %q", paths, want)
	}

	t.Run("an object the API server would reject is named in the markdown plan", func(t *testing.T) {
		repo.Write("bad.yaml", fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: bad, namespace: %s}\nspec:\n  host: bad\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, loadBalancer: {simple: FASTEST}}\n", ns))
		repo.Write("kustomization.yaml", "resources:\n- cart.yaml\n- bad.yaml\n")
		repo.Commit("bad load balancer")
		code, stdout, _ := reconciler(t, "plan", repo.Dir, "--base", base, "--head", "canary",
			"--kubeconfig", kubeconfig, "--inventory", inventory, "-o", "markdown", "--cache-dir", t.TempDir())
		if code != cli.ExitOK {
			t.Fatalf("plan exited %d", code)
		}
		for _, want := range []string{"#### Live cluster", "rejected by the API server", "DestinationRule/" + ns + "/bad", "FASTEST"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("markdown plan lacks %q", want)
			}
		}
	})
}

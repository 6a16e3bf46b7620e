package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/live"
)

// TestValidateRunsTheLiveChecksAgainstTheCluster gives a real API server
// Services (one with two ports), Pods, a Gateway in its own namespace and a
// VirtualService outside the repository, then validates repositories that
// hit each live check with --kubeconfig, and offline.
func TestValidateRunsTheLiveChecksAgainstTheCluster(t *testing.T) {
	kubeconfig := env.Kubeconfig(t)
	ns := env.Namespace(t)
	gwNS := env.Namespace(t)
	otherNS := env.Namespace(t)
	service := func(name string, ports ...int32) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}},
		}
		for _, p := range ports {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p})
		}
		return s
	}
	create(t, service("reviews", 9080, 9090))
	create(t, service("ratings", 9080))
	create(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reviews-v1", Labels: map[string]string{"app": "reviews", "version": "v1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "reviews:v1"}}},
	})
	// A Pod with version v2 of another app: the Service's selector must count.
	create(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ratings-v2", Labels: map[string]string{"app": "ratings", "version": "v2"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ratings:v2"}}},
	})
	gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: gwNS, Name: "public"}}
	gw.Spec.Servers = nil
	create(t, gw)
	foreign := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: otherNS, Name: "ratings-legacy"}}
	foreign.Spec.Hosts = []string{"ratings." + ns + ".svc.cluster.local"}
	create(t, foreign)

	vs := func(name, hosts, gateways, http string) string {
		return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: %s, namespace: %s}
spec:
  hosts: [%s]
  gateways: [%s]
  http: [%s]
`, name, ns, hosts, gateways, http)
	}
	dr := fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: %s}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`, ns)
	vsID := func(name string) string { return "VirtualService/" + ns + "/" + name }
	tests := []struct {
		name string
		docs []string
		code int
		want []result
	}{{
		name: "routes to Services that exist, on ports they have, pass",
		docs: []string{vs("reviews", "reviews", "mesh", "{route: [{destination: {host: reviews, port: {number: 9090}}}]}")},
		code: cli.ExitOK,
	}, {
		name: "a route to a Service that does not exist is IST0101",
		docs: []string{vs("reviews", "reviews", "mesh", "{route: [{destination: {host: reviewz, port: {number: 9080}}}]}")},
		code: cli.ExitDenied,
		want: []result{{"deny", vsID("reviews"), "IST0101", "spec.http[0].route[0].destination.host"}},
	}, {
		name: "a route without a port to a Service with two is IST0112",
		docs: []string{vs("reviews", "reviews", "mesh", "{route: [{destination: {host: reviews}}]}")},
		code: cli.ExitDenied,
		want: []result{{"deny", vsID("reviews"), "IST0112", "spec.http[0].route[0].destination"}},
	}, {
		name: "a port the Service does not have is IST0101",
		docs: []string{vs("reviews", "reviews", "mesh", "{route: [{destination: {host: reviews, port: {number: 8080}}}]}")},
		code: cli.ExitDenied,
		want: []result{{"deny", vsID("reviews"), "IST0101", "spec.http[0].route[0].destination.port.number"}},
	}, {
		name: "a subset that selects no Pod warns IST0173",
		docs: []string{dr},
		code: cli.ExitOK,
		want: []result{{"warn", "DestinationRule/" + ns + "/reviews", "IST0173", "spec.subsets[1]"}},
	}, {
		name: "a Gateway of another namespace that exists passes, one that does not is IST0101",
		docs: []string{vs("web", "web.example.com", gwNS+"/public, "+gwNS+"/private", "{route: [{destination: {host: reviews, port: {number: 9080}}}]}")},
		code: cli.ExitDenied,
		want: []result{{"deny", vsID("web"), "IST0101", "spec.gateways[1]"}},
	}, {
		name: "a VirtualService outside the repository claiming the mesh host is IST0109",
		docs: []string{vs("ratings", "ratings", "mesh", "{route: [{destination: {host: ratings}}]}")},
		code: cli.ExitDenied,
		want: []result{{"deny", vsID("ratings"), "IST0109", "spec.hosts[0]"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := gitfixture.New(t)
			var resources []string
			for i, d := range tt.docs {
				file := fmt.Sprintf("o%d.yaml", i)
				repo.Write(file, d)
				resources = append(resources, file)
			}
			repo.Write("kustomization.yaml", "resources: ["+strings.Join(resources, ", ")+"]\n")
			repo.Commit("mesh")

			code, stdout, _ := reconciler(t, "validate", repo.Dir, "--kubeconfig", kubeconfig, "-o", "json")
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if diff := cmp.Diff(tt.want, liveResults(t, stdout)); diff != "" {
				t.Errorf("live results (-want +got):\n%s", diff)
			}

			// Offline, the live checks are skipped with one info line.
			code, stdout, stderr := reconciler(t, "validate", repo.Dir)
			if code != cli.ExitOK {
				t.Errorf("offline: exit %d, want %d", code, cli.ExitOK)
			}
			if strings.Contains(stdout, "meshintent.live") {
				t.Errorf("offline: live results in\n%s", stdout)
			}
			want := fmt.Sprintf("info: %d live checks skipped (no cluster; pass --kubeconfig to run them)\n", len(live.Checks))
			if stderr != want {
				t.Errorf("offline stderr = %q, want %q", stderr, want)
			}
		})
	}

	t.Run("text output names the code", func(t *testing.T) {
		repo := gitfixture.New(t)
		repo.Write("kustomization.yaml", "resources: [vs.yaml]\n")
		repo.Write("vs.yaml", vs("reviews", "reviews", "mesh", "{route: [{destination: {host: reviewz, port: {number: 9080}}}]}"))
		repo.Commit("mesh")
		code, stdout, stderr := reconciler(t, "validate", repo.Dir, "--kubeconfig", kubeconfig)
		if code != cli.ExitDenied || !strings.Contains(stdout, "IST0101") || !strings.Contains(stdout, `Referenced host not found: "reviewz"`) {
			t.Errorf("exit %d, stdout:\n%s", code, stdout)
		}
		if strings.Contains(stderr, "live checks skipped") {
			t.Errorf("with a cluster, stderr says the live checks were skipped:\n%s", stderr)
		}
	})
}

// result is a live check's result, as the tests compare them.
type result struct{ Severity, Object, Code, Field string }

// liveResults are the results of the live checks in validate's JSON.
func liveResults(t *testing.T, stdout string) []result {
	t.Helper()
	var rep struct {
		Results []struct {
			Severity, Policy, Object, Code, Field string
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("validate JSON: %v\n%s", err, stdout)
	}
	var out []result
	for _, r := range rep.Results {
		if r.Policy == "meshintent.live" {
			out = append(out, result{r.Severity, r.Object, r.Code, r.Field})
		}
	}
	slices.SortFunc(out, func(a, b result) int { return strings.Compare(a.Field, b.Field) })
	return out
}

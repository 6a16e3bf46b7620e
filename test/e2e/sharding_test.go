package e2e

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
)

// Selectors of the two shards, as config/sharding sets them.
var (
	mainSelector   = "!" + controller.ShardLabel
	shard1Selector = controller.ShardLabel + "=shard1"
)

// TestShardingInstall builds config/sharding with kustomize (as kubectl
// kustomize does) and checks the two-shard install it documents.
func TestShardingInstall(t *testing.T) {
	t.Parallel()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), "../../config/sharding")
	if err != nil {
		t.Fatalf("kustomize build config/sharding: %v", err)
	}
	objs := map[string]*unstructured.Unstructured{}
	for _, r := range res.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		objs[u.GetKind()+"/"+u.GetName()] = u
	}
	deployments := map[string]*unstructured.Unstructured{
		"main": objs["Deployment/meshintent-reconciler"], "shard1": objs["Deployment/meshintent-reconciler-shard1"],
	}
	services := map[string]*unstructured.Unstructured{
		"main": objs["Service/meshintent-webhook"], "shard1": objs["Service/meshintent-webhook-shard1"],
	}
	for name := range deployments {
		if deployments[name] == nil || services[name] == nil {
			t.Fatalf("shard %s: Deployment %v, Service %v; want both (built: %v)", name, deployments[name] != nil, services[name] != nil, slices.Sorted(maps.Keys(objs)))
		}
	}
	podLabels := func(d *unstructured.Unstructured) labels.Set {
		l, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		return l
	}
	container := func(d *unstructured.Unstructured) map[string]any {
		cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		return cs[0].(map[string]any)
	}
	selectorArgs := func(d *unstructured.Unstructured) []string {
		var out []string
		for _, a := range container(d)["args"].([]any) {
			if s := a.(string); strings.HasPrefix(s, "--watch-label-selector=") {
				out = append(out, strings.TrimPrefix(s, "--watch-label-selector="))
			}
		}
		return out
	}

	t.Run("each shard's Deployment watches its own IntentSyncs", func(t *testing.T) {
		for name, want := range map[string]string{"main": mainSelector, "shard1": shard1Selector} {
			if diff := cmp.Diff([]string{want}, selectorArgs(deployments[name])); diff != "" {
				t.Errorf("shard %s: --watch-label-selector (-want +got):\n%s", name, diff)
			}
		}
	})

	t.Run("no Deployment or Service selects the other shard's pods", func(t *testing.T) {
		for name, d := range deployments {
			depSel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
			svcSel, _, _ := unstructured.NestedStringMap(services[name].Object, "spec", "selector")
			for other, od := range deployments {
				want := other == name
				if got := labels.SelectorFromSet(depSel).Matches(podLabels(od)); got != want {
					t.Errorf("Deployment of shard %s selects shard %s's pods: %v, want %v", name, other, got, want)
				}
				if got := labels.SelectorFromSet(svcSel).Matches(podLabels(od)); got != want {
					t.Errorf("webhook Service of shard %s selects shard %s's pods: %v, want %v", name, other, got, want)
				}
			}
		}
	})

	t.Run("shard1 runs what the main shard runs but for its selector", func(t *testing.T) {
		specs := map[string]any{}
		for name, d := range deployments {
			spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
			c := spec["containers"].([]any)[0].(map[string]any)
			c["args"] = slices.DeleteFunc(c["args"].([]any), func(a any) bool {
				return strings.HasPrefix(a.(string), "--watch-label-selector=")
			})
			specs[name] = spec
		}
		if diff := cmp.Diff(specs["main"], specs["shard1"]); diff != "" {
			t.Errorf("pod specs but for the selector (-main +shard1):\n%s", diff)
		}
	})

	t.Run("the Lease names the kustomization documents are the shards'", func(t *testing.T) {
		doc, err := os.ReadFile("../../config/sharding/kustomization.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, sel := range []string{mainSelector, shard1Selector} {
			id, err := controller.ShardLeaderElectionID(sel)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(regexp.QuoteMeta(sel) + ` +Lease ` + id + `\n`).Match(doc) {
				t.Errorf("config/sharding/kustomization.yaml does not document %s's Lease %s", sel, id)
			}
		}
	})
}

// shardProc is `reconciler run` of one shard, running as a subprocess.
type shardProc struct {
	name    string
	cmd     *exec.Cmd
	metrics string // host:port
	log     string
	exited  chan struct{}
}

// startShard runs bin as `reconciler run` for the IntentSyncs of ns that
// match selector, with leader election on a Lease in ns and short lease
// timings, and waits until it is ready. The process is killed when the
// test ends.
func startShard(t *testing.T, bin, kubeconfig, ns, name, selector string) *shardProc {
	t.Helper()
	metrics, probes := testenv.FreeAddr(t), testenv.FreeAddr(t)
	p := &shardProc{name: name, metrics: metrics, log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "run",
		"--kubeconfig", kubeconfig,
		"--namespace", ns,
		"--watch-label-selector", selector,
		"--leader-elect", "--leader-election-namespace", ns,
		"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms",
		"--metrics-addr", metrics, "--health-probe-addr", probes,
		"--cache-dir", filepath.Join(t.TempDir(), "git-cache"),
		"--memory-release-interval", "0")
	p.cmd.Env = append(os.Environ(), "MESHINTENT_WEBHOOK_SECRET=") // the receiver stays off: polls only
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting shard %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("shard %s (pid %d) log:\n%s", name, p.cmd.Process.Pid, tail(string(b), 60))
		}
	})
	testenv.Eventually(t, 60*time.Second, func() error {
		select {
		case <-p.exited:
			return fmt.Errorf("shard %s exited: %v", name, p.cmd.ProcessState)
		default:
		}
		resp, err := http.Get("http://" + probes + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("shard %s: /readyz %s", name, resp.Status)
		}
		return nil
	})
	return p
}

// kill ends the process with SIGKILL, as a node failure would: it neither
// releases its Lease nor finishes its work.
func (p *shardProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// appliedBy returns the IntentSyncs this process has applied a revision
// of, from its metric meshintent_last_applied_timestamp_seconds (a series
// per IntentSync the process applied since it started).
func (p *shardProc) appliedBy(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatalf("shard %s metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	series := regexp.MustCompile(`^meshintent_last_applied_timestamp_seconds\{name="([^"]+)",namespace="[^"]+"\}`)
	var names []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := series.FindStringSubmatch(sc.Text()); m != nil {
			names = append(names, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// buildReconciler builds cmd/reconciler into a temp dir.
func buildReconciler(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reconciler")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/reconciler")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTwoShardProcessesSplitIntentSyncs runs two controller processes as
// the two shards of config/sharding against one API server: 20
// IntentSyncs, 10 labelled for shard1, all following one file:// Git
// repository (a directory each). Every IntentSync becomes Ready and is
// applied by exactly one process, its shard's. When shard1's process is
// killed its IntentSyncs wait (a new commit is not applied) while the main
// shard keeps applying; a new shard1 process catches them up.
func TestTwoShardProcessesSplitIntentSyncs(t *testing.T) {
	t.Parallel()
	bin := buildReconciler(t)
	kubeconfig := env.Kubeconfig(t)
	ns := env.Namespace(t)

	// One repository, a directory per IntentSync with one ServiceIntent.
	const syncs = 20
	repo := gitfixture.New(t)
	commit := func(v1 int) string {
		for i := range syncs {
			svc := fmt.Sprintf("svc-%02d", i)
			repo.Write(svc+"/kustomization.yaml", "resources:\n- "+svc+".yaml\n")
			repo.Write(svc+"/"+svc+".yaml", fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: %s
  namespace: %s
spec:
  versions: [{name: v1}, {name: v2}]
  split: [{version: v1, weight: %d}, {version: v2, weight: %d}]
`, svc, ns, v1, 100-v1))
		}
		return "main@sha1:" + repo.Commit(fmt.Sprintf("v1 at %d%%", v1))
	}
	first := commit(80)

	var mainSyncs, shard1Syncs []string
	for i := range syncs {
		name := fmt.Sprintf("svc-%02d", i)
		obj := &v1alpha1.IntentSync{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.IntentSyncSpec{
				Source:        v1alpha1.GitSource{URL: "file://" + repo.Dir, Branch: "main", Path: name},
				Interval:      metav1.Duration{Duration: 2 * time.Second},
				RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
			},
		}
		if i%2 == 1 {
			obj.Labels = map[string]string{controller.ShardLabel: "shard1"}
			shard1Syncs = append(shard1Syncs, name)
		} else {
			mainSyncs = append(mainSyncs, name)
		}
		create(t, obj)
	}

	mainShard := startShard(t, bin, kubeconfig, ns, "main", mainSelector)
	shard1 := startShard(t, bin, kubeconfig, ns, "shard1", shard1Selector)

	// waitApplied waits until every IntentSync of names is Ready with rev.
	waitApplied := func(t *testing.T, names []string, rev string, timeout time.Duration) {
		t.Helper()
		testenv.Eventually(t, timeout, func() error {
			var behind []string
			for _, n := range names {
				if got := syncRevision(t, ns, n); got != rev {
					behind = append(behind, n+" at "+got)
				}
			}
			if len(behind) > 0 {
				return fmt.Errorf("%d IntentSyncs not Ready at %s: %v", len(behind), rev, behind)
			}
			return nil
		})
	}
	// weightsOf returns the live v1 weight of each VirtualService of names.
	weightsOf := func(t *testing.T, names []string) map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for _, n := range names {
			out[n] = splitWeights(t, mustGet(t, vsGVK, ns, n))[0]
		}
		return out
	}
	all := func(names []string, w int64) map[string]int64 {
		out := map[string]int64{}
		for _, n := range names {
			out[n] = w
		}
		return out
	}

	t.Run("all 20 IntentSyncs become Ready", func(t *testing.T) {
		start := time.Now()
		waitApplied(t, append(slices.Clone(mainSyncs), shard1Syncs...), first, 90*time.Second)
		t.Logf("20 IntentSyncs Ready after %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("each IntentSync is applied by its shard's process only", func(t *testing.T) {
		if diff := cmp.Diff(mainSyncs, mainShard.appliedBy(t)); diff != "" {
			t.Errorf("IntentSyncs the main shard applied (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(shard1Syncs, shard1.appliedBy(t)); diff != "" {
			t.Errorf("IntentSyncs shard1 applied (-want +got):\n%s", diff)
		}
	})

	t.Run("each shard holds a Lease of its own", func(t *testing.T) {
		var leases coordinationv1.LeaseList
		if err := env.Client.List(t.Context(), &leases, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var held []string
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				held = append(held, l.Name)
			}
		}
		want := []string{mustLeaseID(t, mainSelector), mustLeaseID(t, shard1Selector)}
		slices.Sort(want)
		slices.Sort(held)
		if diff := cmp.Diff(want, held); diff != "" {
			t.Errorf("held Leases (-want +got):\n%s", diff)
		}
	})

	shard1.kill()
	second := commit(30)

	t.Run("with shard1 dead the main shard keeps applying and shard1's IntentSyncs wait", func(t *testing.T) {
		waitApplied(t, mainSyncs, second, 60*time.Second)
		// Several poll intervals of shard1's IntentSyncs have passed; the
		// main shard must not have picked them up.
		time.Sleep(5 * time.Second)
		for _, n := range shard1Syncs {
			if got := syncRevision(t, ns, n); got != first {
				t.Errorf("IntentSync %s (shard1) is at %s with shard1 dead, want still %s", n, got, first)
			}
		}
		if diff := cmp.Diff(all(shard1Syncs, 80), weightsOf(t, shard1Syncs)); diff != "" {
			t.Errorf("shard1's v1 weights with shard1 dead (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(all(mainSyncs, 30), weightsOf(t, mainSyncs)); diff != "" {
			t.Errorf("the main shard's v1 weights (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(mainSyncs, mainShard.appliedBy(t)); diff != "" {
			t.Errorf("IntentSyncs the main shard applied (-want +got):\n%s", diff)
		}
	})

	t.Run("a new shard1 process catches its IntentSyncs up", func(t *testing.T) {
		start := time.Now()
		restarted := startShard(t, bin, kubeconfig, ns, "shard1-restarted", shard1Selector)
		waitApplied(t, shard1Syncs, second, 60*time.Second)
		t.Logf("shard1's 10 IntentSyncs caught up %s after the restart (the dead leader's Lease expires after 4s)", time.Since(start).Round(time.Millisecond))
		if diff := cmp.Diff(all(shard1Syncs, 30), weightsOf(t, shard1Syncs)); diff != "" {
			t.Errorf("shard1's v1 weights after the restart (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(shard1Syncs, restarted.appliedBy(t)); diff != "" {
			t.Errorf("IntentSyncs the new shard1 applied (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(mainSyncs, mainShard.appliedBy(t)); diff != "" {
			t.Errorf("IntentSyncs the main shard applied (-want +got):\n%s", diff)
		}
	})
}

// syncRevision returns the last applied revision of IntentSync ns/name
// when it is Ready, else its Ready reason.
func syncRevision(t *testing.T, ns, name string) string {
	t.Helper()
	obj := &v1alpha1.IntentSync{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		if ready == nil {
			return "not Ready (no condition)"
		}
		return "not Ready (" + ready.Reason + ": " + ready.Message + ")"
	}
	return obj.Status.LastAppliedRevision
}

func mustLeaseID(t *testing.T, selector string) string {
	t.Helper()
	id, err := controller.ShardLeaderElectionID(selector)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRunRefusesABadWatchLabelSelector checks that `reconciler run` with a
// selector that does not parse exits 2 naming it, before it watches
// anything.
func TestRunRefusesABadWatchLabelSelector(t *testing.T) {
	t.Parallel()
	for _, sel := range []string{"tier in (gold", "=shard1"} {
		t.Run(sel, func(t *testing.T) {
			code, _, stderr := reconciler(t, "run", "--kubeconfig", env.Kubeconfig(t), "--metrics-addr", "0",
				"--health-probe-addr", "", "--cache-dir", t.TempDir(), "--watch-label-selector", sel)
			if want := fmt.Sprintf("watch label selector %q", sel); code != 2 || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
			}
		})
	}
}

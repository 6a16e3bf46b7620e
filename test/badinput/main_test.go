// Package badinput feeds the reconciler CLI bad repositories (malformed YAML,
// wrong types, unknown fields, paths leading out of the repository, kinds
// outside the allow-list, policy violations, objects the API server's schema
// refuses...) and checks that each one is refused with a clear error, one
// line per problem, while the cluster (a real kube-apiserver and etcd with
// the Istio CRDs) does not change at all. It also sends bad webhook payloads
// to the push receiver.
package badinput

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

var env *testenv.Env

// testdata holds the objects and policies the cases add to the example.
//
//go:embed testdata
var testdata embed.FS

// fixture returns the content of testdata/name.
func fixture(name string) string {
	b, err := testdata.ReadFile("testdata/" + name)
	if err != nil {
		panic(err) // a file of this package is missing
	}
	return string(b)
}

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// exampleRepo is the good repository every case starts from.
const exampleRepo = "../../examples/repo"

// goodPath is the kustomization the good apply uses and most cases apply.
const goodPath = "overlays/prod"

// watched are the kinds whose objects the snapshot covers, in every
// namespace: everything a render could produce or a bad repository could
// sneak in (every kind of meshkinds' table, EnvoyFilter among them, and the
// built-in kinds of the bad cases).
var watched = append(meshGVKs(),
	schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
	schema.GroupVersionKind{Version: "v1", Kind: "Secret"},
	schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, // the inventory among them
	schema.GroupVersionKind{Version: "v1", Kind: "Namespace"},
)

// meshGVKs returns every kind of meshkinds' table at its preferred version.
func meshGVKs() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, k := range meshkinds.All() {
		out = append(out, k.GVK())
	}
	return out
}

// snapshot maps Kind/namespace/name to resourceVersion for every watched
// object in the cluster. Equal snapshots mean nothing was written.
func snapshot(t *testing.T) map[string]string {
	t.Helper()
	return env.ResourceVersions(t, "", watched...)
}

// cluster is the shared state of the bad-input cases: the kubeconfig and the
// snapshot taken after the good example was applied.
type cluster struct {
	kubeconfig string
	baseline   map[string]string
}

// setUpCluster creates the bookinfo namespace, applies the good example
// once and snapshots the cluster.
func setUpCluster(t *testing.T) *cluster {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo"}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	c := &cluster{kubeconfig: env.Kubeconfig(t)}
	c.applyGood(t)
	c.baseline = snapshot(t)
	inv := "ConfigMap/" + apply.DefaultInventoryNamespace + "/" + apply.DefaultInventoryName
	if _, ok := c.baseline[inv]; !ok {
		t.Fatalf("the good apply left no inventory %s", inv)
	}
	if _, ok := c.baseline["VirtualService/bookinfo/reviews"]; !ok {
		t.Fatal("the good apply left no VirtualService/bookinfo/reviews")
	}
	return c
}

// applyGood applies the example repository as it is, pruning whatever a
// failed case may have left.
func (c *cluster) applyGood(t *testing.T) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	gitfixture.CopyTree(t, exampleRepo, dir)
	res := reconciler(t, time.Minute, "apply", filepath.Join(dir, goodPath), "--kubeconfig", c.kubeconfig, "--prune")
	if res.code != cli.ExitOK {
		t.Fatalf("applying the good example exited %d:\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// checkUnchanged fails the test when the cluster moved since the baseline,
// and then puts the good example back so that the next case starts clean.
func (c *cluster) checkUnchanged(t *testing.T) {
	t.Helper()
	if diff := cmp.Diff(c.baseline, snapshot(t)); diff != "" {
		t.Errorf("the cluster changed (-before +after):\n%s", diff)
		c.applyGood(t)
		c.baseline = snapshot(t)
	}
}

// result is one run of the CLI.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	peakHeap       uint64 // the most heap held by objects (live or not yet swept) while it ran
}

// reconciler runs the CLI in-process with a deadline, sampling the heap.
func reconciler(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	runtime.GC() // so that the heap sampled is this run's, not earlier garbage
	stop := sampleHeap()
	var out, errOut bytes.Buffer
	start := time.Now()
	code := cli.Run(ctx, args, &out, &errOut)
	res := result{code: code, stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start)}
	res.peakHeap = stop()
	t.Logf("reconciler %s → exit %d in %s, live heap up to %s\n%s%s", strings.Join(args, " "), code,
		res.elapsed.Round(time.Millisecond), humanBytes(res.peakHeap), clip(res.stdout), clip(res.stderr))
	return res
}

// clip shortens huge outputs in logs.
func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n[… " + humanBytes(uint64(len(s)-4000)) + " left out …]\n" + s[len(s)-2000:]
	}
	return s
}

// sampleHeap samples the bytes of heap objects (live, or garbage not yet
// swept) every 10ms until the returned function is called, which returns
// the largest sample.
func sampleHeap() func() uint64 {
	const name = "/memory/classes/heap/objects:bytes"
	sample := []metrics.Sample{{Name: name}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
}

// The shapes a line of the CLI's stderr may take when it refuses a
// revision: an error, a policy result, the policy summary (printed when
// there are warnings, even for a valid revision that the API server then
// refuses) or the notice that nothing was applied. A message spread over several lines would leave a
// line of none of these shapes.
var (
	problemLine = regexp.MustCompile(`^(error: |DENY )`)
	okLine      = regexp.MustCompile(`^(error: |DENY |WARN |(valid|denied): \d+ objects|nothing applied: )`)
)

// maxLineBytes is the longest line a person can still read as one message.
const maxLineBytes = 600

// checkReadable requires stderr to hold exactly problems problem lines
// (errors and denials), every line in one of the known shapes, valid UTF-8
// without control characters, and at most maxLineBytes long.
func checkReadable(t *testing.T, stderr string, problems int) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		short := line
		if len(short) > 200 {
			short = short[:200] + "…"
		}
		switch {
		case !okLine.MatchString(line):
			t.Errorf("stderr line is not an error, a policy result or a summary (a message spread over lines?): %q", short)
		case len(line) > maxLineBytes:
			t.Errorf("stderr line is %d bytes long, more than %d: %q", len(line), maxLineBytes, short)
		case !utf8.ValidString(line):
			t.Errorf("stderr line is not valid UTF-8: %q", short)
		case strings.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' }):
			t.Errorf("stderr line holds control characters: %q", short)
		}
		if problemLine.MatchString(line) {
			n++
		}
	}
	if n != problems {
		t.Errorf("stderr has %d error or DENY lines, want %d (one per problem)", n, problems)
	}
}

// TestSnapshotSeesAnApply makes sure the guard of the bad cases is not
// vacuous: an apply that changes a weight and adds an object moves the
// snapshot, the inventory included.
func TestSnapshotSeesAnApply(t *testing.T) {
	c := setUpCluster(t)
	dir := filepath.Join(t.TempDir(), "repo")
	gitfixture.CopyTree(t, exampleRepo, dir)
	file := filepath.Join(dir, "overlays", "prod", "reviews.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(bytes.Replace(b, []byte("weight: 80"), []byte("weight: 70"), 1), []byte("weight: 15"), []byte("weight: 25"), 1)
	gitfixture.WriteFile(t, file, b)
	// A new object moves the inventory too.
	gitfixture.WriteFile(t, filepath.Join(dir, "base", "mongodb.yaml"), []byte(mongoVS))
	kfile := filepath.Join(dir, "base", "kustomization.yaml")
	k, err := os.ReadFile(kfile)
	if err != nil {
		t.Fatal(err)
	}
	gitfixture.WriteFile(t, kfile, append(k, "- mongodb.yaml\n"...))
	if res := reconciler(t, time.Minute, "apply", filepath.Join(dir, goodPath), "--kubeconfig", c.kubeconfig); res.code != cli.ExitOK {
		t.Fatalf("apply exited %d", res.code)
	}
	after := snapshot(t)
	if _, ok := after["VirtualService/bookinfo/mongodb"]; !ok {
		t.Error("the snapshot does not show the VirtualService added")
	}
	for _, id := range []string{"VirtualService/bookinfo/reviews", "ConfigMap/" + apply.DefaultInventoryNamespace + "/" + apply.DefaultInventoryName} {
		if after[id] == c.baseline[id] {
			t.Errorf("%s kept resourceVersion %s across an apply that changed it", id, after[id])
		}
	}
	c.applyGood(t)
}

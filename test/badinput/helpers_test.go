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
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

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

// badRepo is a copy of examples/repo in a real Git repository, to break.
type badRepo struct {
	*gitfixture.Repo
	t *testing.T
	// Outside is a directory next to the repository (not inside it) holding
	// a copy of the example, for paths and symlinks that lead out.
	Outside string
}

func newBadRepo(t *testing.T) *badRepo {
	t.Helper()
	r := &badRepo{Repo: gitfixture.FromDir(t, exampleRepo, "bookinfo mesh"), t: t, Outside: t.TempDir()}
	gitfixture.CopyTree(t, exampleRepo, r.Outside)
	return r
}

// addResource writes file (repo-relative) and lists it first in the
// resources of the kustomization in dir.
func (r *badRepo) addResource(dir, file, content string) {
	r.Write(file, content)
	rel, err := filepath.Rel(filepath.FromSlash(dir), filepath.FromSlash(file))
	if err != nil {
		r.t.Fatal(err)
	}
	r.listResource(dir, filepath.ToSlash(rel))
}

// listResource adds entry first to the resources of the kustomization in dir.
func (r *badRepo) listResource(dir, entry string) {
	r.Edit(dir+"/kustomization.yaml", "resources:\n", "resources:\n- "+entry+"\n")
}

// read returns the content of a repo-relative file.
func (r *badRepo) read(file string) string {
	b, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(file)))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// appendTo adds content at the end of a repo-relative file.
func (r *badRepo) appendTo(file, content string) {
	r.Write(file, r.read(file)+content)
}

// writeBytes writes raw bytes to a repo-relative file.
func (r *badRepo) writeBytes(file string, b []byte) {
	if err := os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(file)), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// symlink replaces the repo-relative path with a symlink to target.
func (r *badRepo) symlink(target, path string) {
	p := filepath.Join(r.Dir, filepath.FromSlash(path))
	if err := os.RemoveAll(p); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		r.t.Fatal(err)
	}
}

// problemsIn is the number of problem lines stderr must hold for want: the
// fragments that start one (see problemLine), at least one.
func problemsIn(want []string) int {
	n := 0
	for _, w := range want {
		if problemLine.MatchString(w) {
			n++
		}
	}
	return max(n, 1)
}

// The ways to break a repository that most cases use, as breakRepo values.

// edit replaces, in a repo-relative file, each old string with the new
// one after it, in turn (see Repo.Edit): edit(file, old1, new1, old2, new2…).
func edit(file string, oldNew ...string) func(*badRepo) {
	return func(r *badRepo) {
		for i := 0; i+1 < len(oldNew); i += 2 {
			r.Edit(file, oldNew[i], oldNew[i+1])
		}
	}
}

// addResource writes file and lists it first in the kustomization in dir.
func addResource(dir, file, content string) func(*badRepo) {
	return func(r *badRepo) { r.addResource(dir, file, content) }
}

// listResource lists entry first in the resources of the kustomization in dir.
func listResource(dir, entry string) func(*badRepo) {
	return func(r *badRepo) { r.listResource(dir, entry) }
}

// appendTo adds content at the end of a repo-relative file.
func appendTo(file, content string) func(*badRepo) {
	return func(r *badRepo) { r.appendTo(file, content) }
}

// write puts content at a repo-relative path (see Repo.Write).
func write(file, content string) func(*badRepo) {
	return func(r *badRepo) { r.Write(file, content) }
}

// copyDetails declares the details ServiceIntent a second time, in
// base/details-copy.yaml.
func copyDetails(r *badRepo) {
	r.addResource("base", "base/details-copy.yaml", r.read("base/details.yaml"))
}

// validate runs `reconciler validate` (render and policy gate, no cluster)
// on path of the broken repository.
func validate(t *testing.T, r *badRepo, path string, budget time.Duration, flags ...string) result {
	t.Helper()
	args := append([]string{"validate", filepath.Join(r.Dir, filepath.FromSlash(path))}, flags...)
	return reconciler(t, budget, args...)
}

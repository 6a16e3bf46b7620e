// Command bench measures meshintent side by side with what users would pick
// instead, and prints a Markdown table (the README quotes it):
//
//   - start: the process start of `reconciler version`, `reconciler --help`
//     and `reconciler validate examples/repo/overlays/prod` (median of
//     -start-runs runs and the peak resident set);
//   - offline: `reconciler validate` of generated ServiceIntents vs
//     `kubectl kustomize | conftest test --combine` over the equivalent
//     hand-written VirtualServices and DestinationRules with the same three
//     mesh rules (test/bench/conftest, linear like ours), for each -shapes
//     (flat, overlay, overlay2; see shapes) and -sizes: whole processes,
//     medians of -runs runs, peak resident sets, the ratio, and the slope
//     (ms per 1,000 services, least squares over the sizes);
//   - apply: the first apply of 2,000 objects vs `kubectl apply
//     --server-side` on the same local API server, and a no-op re-apply
//     (writes and CPU time);
//   - latency: `reconciler run` as a subprocess against a local control
//     plane, timing push → applied via webhook and via poll, and an
//     out-of-band edit → drift reported and → corrected (p50 and p95 of
//     -trials trials each; see latencyBench);
//   - p2: a one-line commit to a 1,000-service overlay repository → applied,
//     webhook-triggered (p50 and p90 of -p2-trials trials), and how many
//     objects each trial wrote (see p2Bench);
//   - rss: the reconciler's resident set with 2,000 managed objects, then
//     after -unmanaged unmanaged Istio objects appear in other namespaces,
//     and the CPU time and writes of its no-op reconciles (see rssBench).
//
// Run it with `make bench-compare` (or go run ./test/bench); it builds
// conftest and kube-apiserver into the cache when they are missing. A
// quick run: go run ./test/bench -parts offline -sizes 100,1000 -shapes
// flat,overlay -runs 3. Nothing here is a pass/fail assertion. On two
// shared cores conftest dominates the offline part (minutes per run at
// 5,000 services); the latency, p2 and rss parts print their progress to
// stderr.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
)

// allParts are the parts in the order they run.
var allParts = []string{"start", "offline", "apply", "latency", "p2", "rss", "fleet"}

func main() {
	var (
		sizes     = flag.String("sizes", "100,1000,5000", "numbers of services for the offline part")
		shapeList = flag.String("shapes", "flat,overlay,overlay2", "repository shapes for the offline part: flat, overlay, overlay2")
		parts     = flag.String("parts", strings.Join(allParts, ","), "which parts: "+strings.Join(allParts, ", "))
		s         settings
	)
	flag.IntVar(&s.runs, "runs", 5, "runs per figure of the offline and apply parts (the median is printed)")
	flag.IntVar(&s.startRuns, "start-runs", 10, "runs per figure of the start part")
	flag.IntVar(&s.peerMax, "peer-max", 0, "the largest size the offline part runs the peer at (0: every size)")
	flag.IntVar(&trials, "trials", 20, "trials per latency figure (p50 and p95 are printed)")
	flag.IntVar(&s.p2Trials, "p2-trials", 10, "trials of the p2 part (p50 and p90 are printed)")
	flag.IntVar(&s.p2Services, "p2-services", 1000, "services in the p2 part's overlay repository")
	flag.IntVar(&unmanaged, "unmanaged", 20000, "unmanaged objects created for the rss part")
	flag.DurationVar(&trialGap, "trial-gap", 2*time.Second, "idle time before each latency and p2 trial")
	flag.IntVar(&rssServices, "rss-services", 1000, "services synced in the rss part (2 objects each)")
	flag.StringVar(&reconcilerFlags, "reconciler-flags", "", "extra flags for `reconciler run`, e.g. --zap-log-level=5")
	flag.BoolVar(&keep, "keep", false, "keep the work directory (the reconciler's and git's logs) and print its path")
	flag.Parse()
	// Clients log API server warnings through controller-runtime's logger.
	ctrllog.SetLogger(funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "bench: client: %s %s\n", prefix, args)
	}, funcr.Options{}))
	// Interrupting cancels ctx, so the control planes and the reconciler
	// subprocess are stopped on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := s.parse(*sizes, *shapeList, *parts)
	if err == nil {
		err = run(ctx, s)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// Settings of the latency and rss parts.
var (
	trials          int
	trialGap        time.Duration
	rssServices     int
	unmanaged       int
	reconcilerFlags string
	keep            bool
)

// settings are the parsed flags run uses.
type settings struct {
	parts                []string
	sizes                []int
	shapes               []shape
	runs, startRuns      int
	peerMax              int
	p2Trials, p2Services int
}

// parse checks and parses the list flags into s.
func (s *settings) parse(sizes, shapeList, parts string) error {
	for _, p := range strings.Split(parts, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(allParts, p) {
			return fmt.Errorf("-parts: unknown part %q (known: %s)", p, strings.Join(allParts, ", "))
		}
		s.parts = append(s.parts, p)
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return fmt.Errorf("-sizes: %q is not a number of services ≥ 2", f)
		}
		s.sizes = append(s.sizes, n)
	}
	var err error
	s.shapes, err = parseShapes(shapeList)
	if s.runs < 1 || s.startRuns < 1 {
		return errors.New("-runs and -start-runs must be at least 1")
	}
	return err
}

// row is one line of the result table.
type row struct {
	what, meshintent, peer, ratio, target string
}

func run(ctx context.Context, s settings) error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "meshintent-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(os.Stderr, "bench: work directory %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	has := func(p string) bool { return slices.Contains(s.parts, p) }
	// The reconciler binary, built once for the parts that run it, the way
	// the Dockerfile and `make build` build it: static, without symbol
	// tables. (A cgo build links dynamically, because kustomize imports the
	// plugin package, and exports every symbol: about 30 MiB more of the
	// binary ends up resident.)
	var reconciler string
	if has("start") || has("offline") || has("latency") || has("p2") || has("rss") {
		reconciler = filepath.Join(work, "reconciler")
		if err := sh(root, "env", "CGO_ENABLED=0", "go", "build", "-trimpath", "-ldflags=-s -w", "-o", reconciler, "./cmd/reconciler"); err != nil {
			return err
		}
	}

	var rows []row
	// Each part adds its rows; one that fails ends the run.
	steps := []struct {
		part string
		fn   func() ([]row, error)
	}{
		{"start", func() ([]row, error) { return startBench(ctx, root, work, reconciler, s.startRuns) }},
		{"offline", func() ([]row, error) {
			return offline(ctx, root, work, reconciler, s.shapes, s.sizes, s.runs, s.peerMax)
		}},
		{"apply", func() ([]row, error) { return applyBench(ctx, root, work, 1000, s.runs) }},
		{"latency", func() ([]row, error) { return latencyBench(ctx, work, reconciler, trials) }},
		{"p2", func() ([]row, error) { return p2Bench(ctx, work, reconciler, s.p2Services, s.p2Trials) }},
		{"rss", func() ([]row, error) { return rssBench(ctx, work, reconciler, rssServices, unmanaged) }},
		{"fleet", func() ([]row, error) { return fleetBench(ctx, root, work, reconciler) }}, // fleet.go
	}
	for _, step := range steps {
		if !has(step.part) {
			continue
		}
		r, err := step.fn()
		if err != nil {
			return fmt.Errorf("%s: %w", step.part, err)
		}
		rows = append(rows, r...)
	}
	return writeTable(os.Stdout, rows, s)
}

// writeTable prints rows as a Markdown table, after a line saying what ran
// and when, and the legend of the shapes that ran.
func writeTable(w *os.File, rows []row, s settings) error {
	var b strings.Builder
	fmt.Fprintf(&b, "`go run ./test/bench %s` on %s, %s, %d CPUs\n\n",
		strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02"), goVersion(), numCPU())
	b.WriteString("| benchmark | meshintent | peer | ratio | target |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.what, r.meshintent, r.peer, r.ratio, r.target)
	}
	if slices.Contains(s.parts, "offline") {
		b.WriteString("\nShapes: ")
		for i, sh := range s.shapes {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", sh.name, sh.about)
		}
		b.WriteString(". Figures: median wall time and peak resident set of whole processes " +
			"(the peer's is its largest process); the peer is `kubectl kustomize | conftest test --combine`.\n")
	}
	_, err := w.WriteString(b.String())
	return err
}

// applyBench compares the first apply of 2*services objects with kubectl
// apply --server-side, and measures a no-op re-apply.
func applyBench(ctx context.Context, root, work string, services, runs int) ([]row, error) {
	env, err := testenv.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stopping the control plane: %v\n", err)
		}
	}()
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		return nil, err
	}
	mgr := apply.NewManager(env.Client, apply.DefaultOptions())

	var ours, theirs []time.Duration
	var noopWrites int
	var noopCPU, noopWall time.Duration
	for i := range runs {
		ns := fmt.Sprintf("ours-%d", i)
		set, err := meshSet(ctx, env.Client, work, ns, services)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := mgr.Apply(ctx, set, apply.ApplyOptions{Inventory: ns, Revision: "bench"}); err != nil {
			return nil, err
		}
		ours = append(ours, time.Since(start))

		// The same objects, in a namespace of kubectl's own.
		kns := fmt.Sprintf("kubectl-%d", i)
		kset, err := meshSet(ctx, env.Client, work, kns, services)
		if err != nil {
			return nil, err
		}
		took, err := kubectlApply(work, kubeconfig, kns, kset)
		if err != nil {
			return nil, err
		}
		theirs = append(theirs, took)

		if i == 0 {
			// A no-op reconcile of the same set: count writes, measure CPU.
			cpu0, wall0 := cpuTime(), time.Now()
			res, err := mgr.Apply(ctx, set, apply.ApplyOptions{Inventory: ns, Revision: "bench"})
			if err != nil {
				return nil, err
			}
			noopCPU, noopWall = cpuTime()-cpu0, time.Since(wall0)
			noopWrites = len(res.ChangeSet.Entries) - res.ChangeSet.Count(apply.Unchanged)
		}
	}
	first, peer := medianOf(ours), medianOf(theirs)
	objects := 2 * services
	return []row{
		{fmt.Sprintf("first apply, %d objects", objects), ms(first), ms(peer) + " (kubectl apply --server-side)", fmt.Sprintf("%.2f×", first.Seconds()/peer.Seconds()), "≤ 1.3× kubectl"},
		{fmt.Sprintf("no-op re-apply, %d objects", objects), fmt.Sprintf("%d writes, %s CPU, %s wall", noopWrites, ms(noopCPU), ms(noopWall)), "", "", "0 writes, < 100 ms CPU"},
	}, nil
}

// meshSet creates namespace ns with c and renders n generated services
// into it.
func meshSet(ctx context.Context, c client.Client, work, ns string, n int) (manifest.Set, error) {
	if err := createNamespace(ctx, c, ns); err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "apply-"+ns)
	if err := writeIntentRepo(dir, ns, n); err != nil {
		return nil, err
	}
	res, err := render.Render(ctx, render.Options{Root: dir})
	if err != nil {
		return nil, err
	}
	return res.Objects, nil
}

// kubectlApply writes set to work/name.yaml and applies it with kubectl
// apply --server-side, returning how long kubectl took.
func kubectlApply(work, kubeconfig, name string, set manifest.Set) (time.Duration, error) {
	b, err := set.YAML()
	if err != nil {
		return 0, err
	}
	file := filepath.Join(work, name+".yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := sh(work, "kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "kubectl", "-f", file, "-o", "name"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// createNamespace creates the namespace name.
func createNamespace(ctx context.Context, c client.Client, name string) error {
	u := nsObject(name)
	if err := c.Create(ctx, u); err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// tool builds a pinned tool from its module under test/tools into the cache.
func tool(root, module, pkg, name string) (string, error) {
	dir := filepath.Join(root, module)
	out, err := exec.Command("go", "-C", dir, "list", "-m", "-f", "{{.Version}}", strings.Split(pkg, "/cmd/")[0]).Output()
	if err != nil {
		return "", fmt.Errorf("version of %s: %w", pkg, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "meshintent", name+"-"+strings.TrimSpace(string(out)))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintf(os.Stderr, "bench: building %s into %s (one time)\n", name, bin)
	if err := sh(dir, "go", "build", "-o", bin, pkg); err != nil {
		return "", err
	}
	return bin, nil
}

func sh(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// medianOf is the median of ds.
func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func ratio(peer, ours time.Duration) string {
	return fmt.Sprintf("%.1f× faster", peer.Seconds()/ours.Seconds())
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// goVersion is the Go toolchain that builds the reconciler.
func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "go ?"
	}
	return strings.TrimSpace(string(out))
}

// numCPU is the number of CPUs this process may use.
func numCPU() int { return runtime.NumCPU() }

// Command bench measures meshintent side by side with what users would pick
// instead, and prints a table:
//
//   - render + policy gate of N generated ServiceIntents, in-process and as the
//     `reconciler validate` CLI, vs `kubectl kustomize | conftest test
//     --combine` over the equivalent hand-written VirtualServices and
//     DestinationRules with the same three mesh rules;
//   - the first apply of 2,000 objects vs `kubectl apply --server-side` on the
//     same local API server, and a no-op re-apply (writes and CPU time);
//   - latency: `reconciler run` as a subprocess against a local control
//     plane, timing push → applied via webhook and via poll, and an
//     out-of-band edit → drift reported and → corrected (p50 and p95 of
//     -trials trials each; see latencyBench);
//   - rss: the same subprocess's resident set with 2,000 managed objects,
//     then after -unmanaged unmanaged Istio objects appear in other
//     namespaces, and the CPU time and writes of its no-op reconciles (see
//     rssBench).
//
// Run it with `make bench-compare` (or go run ./test/bench); it builds
// conftest and kube-apiserver into the cache when they are missing. Figures
// of the offline and apply parts are medians of -runs runs. Nothing here is
// a pass/fail assertion. On two shared cores all parts take about 50
// minutes: offline about 36 (conftest alone takes about 8 minutes per run
// over 5,000 services; -sizes 100,1000 cuts it to a few), apply about 8,
// latency about 4 and rss about 3. The latency and rss parts print their
// progress to stderr.
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/validate"
)

func main() {
	var (
		sizes = flag.String("sizes", "100,1000,5000", "numbers of services for the render + gate comparison")
		runs  = flag.Int("runs", 5, "runs per figure (the median is printed)")
		parts = flag.String("parts", "offline,apply,latency,rss", "which comparisons: offline, apply, latency, rss")
	)
	flag.IntVar(&trials, "trials", 20, "trials per latency figure (p50 and p95 are printed)")
	flag.IntVar(&unmanaged, "unmanaged", 20000, "unmanaged objects created for the rss part")
	flag.DurationVar(&trialGap, "trial-gap", 2*time.Second, "idle time before each latency trial")
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
	err := run(ctx, *sizes, *runs, strings.Split(*parts, ","))
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

// row is one line of the result table.
type row struct {
	what, meshintent, peer, ratio, target string
}

func run(ctx context.Context, sizeList string, runs int, parts []string) error {
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
	for _, p := range parts {
		if !slices.Contains([]string{"offline", "apply", "latency", "rss"}, p) {
			return fmt.Errorf("-parts: unknown part %q", p)
		}
	}
	// The reconciler binary, built once for the parts that run it, the way
	// the Dockerfile and `make build` build it: static, without symbol
	// tables. (A cgo build links dynamically, because kustomize imports the
	// plugin package, and exports every symbol: about 30 MiB more of the
	// binary ends up resident.)
	var reconciler string
	if slices.ContainsFunc(parts, func(p string) bool { return p == "offline" || p == "latency" || p == "rss" }) {
		reconciler = filepath.Join(work, "reconciler")
		if err := sh(root, "env", "CGO_ENABLED=0", "go", "build", "-trimpath", "-ldflags=-s -w", "-o", reconciler, "./cmd/reconciler"); err != nil {
			return err
		}
	}

	var rows []row
	if slices.Contains(parts, "offline") {
		var sizes []int
		for _, s := range strings.Split(sizeList, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("-sizes: %w", err)
			}
			sizes = append(sizes, n)
		}
		r, err := offline(ctx, root, work, reconciler, sizes, runs)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if slices.Contains(parts, "apply") {
		r, err := applyBench(ctx, root, work, 1000, runs)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if slices.Contains(parts, "latency") {
		r, err := latencyBench(ctx, work, reconciler, trials)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		rows = append(rows, r...)
	}
	if slices.Contains(parts, "rss") {
		r, err := rssBench(ctx, work, reconciler, rssServices, unmanaged)
		if err != nil {
			return fmt.Errorf("rss: %w", err)
		}
		rows = append(rows, r...)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmeshintent\tpeer\tratio\ttarget")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.what, r.meshintent, r.peer, r.ratio, r.target)
	}
	return tw.Flush()
}

// offline compares render + gate with kubectl kustomize | conftest.
func offline(ctx context.Context, root, work, reconciler string, sizes []int, runs int) ([]row, error) {
	conftest, err := tool(root, "test/tools/conftest", "github.com/open-policy-agent/conftest", "conftest")
	if err != nil {
		return nil, err
	}
	engineOpts := validate.Options{}
	var rows []row
	for _, n := range sizes {
		intents := filepath.Join(work, fmt.Sprintf("intents-%d", n))
		if err := writeIntentRepo(intents, "bench", n); err != nil {
			return nil, err
		}
		// The equivalent hand-written objects: what the intents render to,
		// one file per service, listed by a kustomization.
		res, err := render.Render(ctx, render.Options{Root: intents})
		if err != nil {
			return nil, err
		}
		plain := filepath.Join(work, fmt.Sprintf("plain-%d", n))
		if err := writePlainRepo(plain, res.Objects); err != nil {
			return nil, err
		}

		inProcess, err := median(runs, func() error {
			res, err := render.Render(ctx, render.Options{Root: intents})
			if err != nil {
				return err
			}
			engine, err := validate.New(ctx, engineOpts)
			if err != nil {
				return err
			}
			rep, err := engine.Evaluate(ctx, validate.Input{Objects: res.Objects, Intents: res.Intents})
			if err != nil {
				return err
			}
			if rep.Denied() {
				return fmt.Errorf("the generated set was denied: %+v", rep.Results[0])
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		cli, err := median(runs, func() error { return sh(intents, reconciler, "validate", ".") })
		if err != nil {
			return nil, err
		}
		policy := filepath.Join(root, "test", "bench", "conftest")
		peer, err := median(runs, func() error {
			return sh(plain, "sh", "-c", fmt.Sprintf("kubectl kustomize . | %s test --combine --no-color -p %s - >/dev/null", conftest, policy))
		})
		if err != nil {
			return nil, err
		}
		target := ""
		if n == 1000 {
			target = "< 300 ms, ≥ 10×"
		}
		rows = append(rows,
			row{fmt.Sprintf("render + gate, %d services (in-process)", n), ms(inProcess), ms(peer), ratio(peer, inProcess), target},
			row{fmt.Sprintf("render + gate, %d services (reconciler validate)", n), ms(cli), ms(peer), ratio(peer, cli), ""},
		)
	}
	return rows, nil
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
		set, err := meshSet(ctx, work, ns, services)
		if err != nil {
			return nil, err
		}
		if err := createNamespace(ctx, env.Client, ns); err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := mgr.Apply(ctx, set, apply.ApplyOptions{Inventory: ns, Revision: "bench"}); err != nil {
			return nil, err
		}
		ours = append(ours, time.Since(start))

		// The same objects, in a namespace of kubectl's own.
		kns := fmt.Sprintf("kubectl-%d", i)
		kset, err := meshSet(ctx, work, kns, services)
		if err != nil {
			return nil, err
		}
		if err := createNamespace(ctx, env.Client, kns); err != nil {
			return nil, err
		}
		file := filepath.Join(work, kns+".yaml")
		b, err := kset.YAML()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return nil, err
		}
		start = time.Now()
		if err := sh(work, "kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "kubectl", "-f", file, "-o", "name"); err != nil {
			return nil, err
		}
		theirs = append(theirs, time.Since(start))

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

// meshSet renders n generated services into namespace ns.
func meshSet(ctx context.Context, work, ns string, n int) (manifest.Set, error) {
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

func median(runs int, fn func() error) (time.Duration, error) {
	var ds []time.Duration
	for range runs {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	if len(ds) == 0 {
		return 0, errors.New("no runs")
	}
	return medianOf(ds), nil
}

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

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// offlineTargets are issue 15's goals for one whole-process validate of
// 1,000 services, by shape.
var offlineTargets = map[string]string{
	"flat":     "< 300 ms, ≥ 10×",
	"overlay":  "< 400 ms, ≥ 10×",
	"overlay2": "< 400 ms, ≥ 10×",
}

// procStats are whole-process figures over some runs of one command.
type procStats struct {
	// median is the median wall time.
	median time.Duration
	// peakKiB is the largest peak resident set (ru_maxrss) of any run; for
	// a pipeline run through sh it is that of its largest process.
	peakKiB int64
}

func (p procStats) String() string {
	return fmt.Sprintf("%s, %s", ms(p.median), kib(p.peakKiB))
}

// processRunner runs commands as whole processes and measures them.
type processRunner struct {
	// rsswrap is test/badinput/rsswrap, built: the commands run under it.
	// Go starts children with vfork, and Linux charges a vforking parent's
	// peak resident set to the child, so the bench (hundreds of MiB after
	// rendering) cannot measure a small child's peak directly; rsswrap is
	// small and reports its child's ru_maxrss.
	rsswrap string
}

// newProcessRunner builds rsswrap into work.
func newProcessRunner(root, work string) (*processRunner, error) {
	bin := filepath.Join(work, "rsswrap")
	if err := sh(root, "go", "build", "-o", bin, "./test/badinput/rsswrap"); err != nil {
		return nil, err
	}
	return &processRunner{rsswrap: bin}, nil
}

// noLimitKiB is the address-space limit given to rsswrap: none to speak of.
const noLimitKiB = "1099511627776"

// run runs name args in dir runs times and returns the median wall time
// and the peak resident set. Standard output is discarded; a run that
// fails is an error quoting its standard error.
func (p *processRunner) run(ctx context.Context, runs int, dir, name string, args ...string) (procStats, error) {
	var ds []time.Duration
	var peak int64
	for range runs {
		cmd := exec.CommandContext(ctx, p.rsswrap, append([]string{noLimitKiB, name}, args...)...)
		cmd.Dir = dir
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return procStats{}, fmt.Errorf("%s %v in %s: %w\n%s", name, args, dir, err, stderr.String())
		}
		ds = append(ds, d)
		// rsswrap's report is the last line of stderr.
		out := strings.TrimRight(stderr.String(), "\n")
		_, last, _ := strings.Cut(out[strings.LastIndexByte(out, '\n')+1:], "rsswrap: maxrss=")
		kib, err := strconv.ParseInt(last, 10, 64)
		if err != nil {
			return procStats{}, fmt.Errorf("no maxrss from rsswrap for %s %v: %q", name, args, out)
		}
		peak = max(peak, kib)
	}
	if len(ds) == 0 {
		return procStats{}, errors.New("no runs")
	}
	return procStats{median: medianOf(ds), peakKiB: peak}, nil
}

// limitedBuffer keeps the last 8 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// offline compares `reconciler validate` with `kubectl kustomize | conftest
// test --combine` for every shape and size: whole processes, the median of
// runs runs, peak resident sets, the ratio, and per shape the slope of the
// medians (ms per 1,000 services) by least squares.
//
// The peer runs only at sizes up to peerMax (0: every size): on two shared
// cores conftest takes minutes per run at 5,000 services.
func offline(ctx context.Context, root, work, reconciler string, shapes []shape, sizes []int, runs, peerMax int) ([]row, error) {
	procs, err := newProcessRunner(root, work)
	if err != nil {
		return nil, err
	}
	conftest, err := tool(root, "test/tools/conftest", "github.com/open-policy-agent/conftest", "conftest")
	if err != nil {
		return nil, err
	}
	policy := filepath.Join(root, "test", "bench", "conftest")
	var rows []row
	for _, s := range shapes {
		var xs, oursY, peerXs, peerY []float64
		for _, n := range sizes {
			dir := filepath.Join(work, "offline", fmt.Sprintf("%s-%d", s.name, n))
			ours, peer, err := writeShape(ctx, dir, s, "bench", n)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(os.Stderr, "bench: offline: %s, %s services\n", s.name, thousands(n))
			// The policy budget is raised from 5 s, as in p2Bench: on a
			// loaded machine 5,000 services can exceed it; this part
			// measures throughput, not the budget.
			mine, err := procs.run(ctx, runs, filepath.Join(ours, filepath.FromSlash(s.target)), reconciler, "validate", "--policy-timeout", "1m", ".")
			if err != nil {
				return nil, err
			}
			target := ""
			if n == 1000 {
				target = offlineTargets[s.name]
			}
			r := row{
				what:       fmt.Sprintf("validate, %s, %s services", s.name, thousands(n)),
				meshintent: mine.String(),
				peer:       "not run (-peer-max)",
				target:     target,
			}
			xs = append(xs, float64(n))
			oursY = append(oursY, float64(mine.median)/float64(time.Millisecond))
			if peerMax == 0 || n <= peerMax {
				pipeline := fmt.Sprintf("kubectl kustomize %s | %s test --combine --no-color -p %s - >/dev/null", s.target, conftest, policy)
				theirs, err := procs.run(ctx, runs, peer, "sh", "-c", pipeline)
				if err != nil {
					return nil, err
				}
				r.peer, r.ratio = theirs.String(), ratio(theirs.median, mine.median)
				peerXs = append(peerXs, float64(n))
				peerY = append(peerY, float64(theirs.median)/float64(time.Millisecond))
			}
			rows = append(rows, r)
		}
		if len(xs) > 1 {
			target := "linear"
			if slices.Contains(sizes, 5000) {
				target = "linear; < 300 MiB at 5,000"
			}
			peerSlope := "not run"
			if len(peerXs) > 1 {
				peerSlope = fmt.Sprintf("%.0f ms", 1000*slope(peerXs, peerY))
			}
			rows = append(rows, row{
				what:       fmt.Sprintf("validate, %s: slope per 1,000 services", s.name),
				meshintent: fmt.Sprintf("%.0f ms", 1000*slope(xs, oursY)),
				peer:       peerSlope,
				target:     target,
			})
		}
	}
	return rows, nil
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// startCommands are the commands the start part times, with the goal of
// each.
var startCommands = []struct {
	args   []string
	target string
}{
	{[]string{"version"}, "< 20 ms, < 30 MiB"},
	{[]string{"--help"}, ""},
	{[]string{"validate", "examples/repo/overlays/prod"}, ""},
}

// startBench times the reconciler's process start: whole processes run
// from the module root, the median of runs runs and the peak resident set.
func startBench(ctx context.Context, root, work, reconciler string, runs int) ([]row, error) {
	procs, err := newProcessRunner(root, work)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, c := range startCommands {
		st, err := procs.run(ctx, runs, root, reconciler, c.args...)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{
			what:       fmt.Sprintf("process start: reconciler %s, %d runs", strings.Join(c.args, " "), runs),
			meshintent: st.String(),
			target:     c.target,
		})
	}
	return rows, nil
}

// kib formats a size in KiB as MiB.
func kib(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }

package badinput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/testenv"
)

// hostileAddressSpace is the address space (ulimit -v, KiB) the CLI runs
// in: room for the Go runtime's reservations and threads, far below the
// 6.5 GB the 643-byte alias bomb made render allocate.
const hostileAddressSpace = 4 << 20

// hostileMaxRSS is the most resident memory a refusal may take: the binary
// and its runtime, not the bomb.
const hostileMaxRSS = 256 << 20

// hostileBudget is the wall-clock time a refusal may take; it is refused
// in about a tenth of that on an idle machine (see the logs), the rest is
// room for shared test machines.
const hostileBudget = 3 * time.Second

// laughsYAML is a billion laughs under key, levels deep, each level a flow
// list repeating the anchor of the level below nine times: laughsYAML(8)
// is the bomb, 387 million nodes once expanded.
func laughsYAML(levels int) string {
	var b strings.Builder
	b.WriteString("bomb:\n  a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ","))
	}
	return b.String()
}

// TestHostileYAMLIsRefusedQuicklyInLittleMemory runs the reconciler binary
// (built for the test) as a subprocess under an address-space limit on
// hostile YAML in an intent file and in a plain Istio resource, rendered
// by the fast path (base) and through kustomize (overlays/prod, which
// patches): each is refused with exit 2 and one error line naming the file,
// a line and the limit, quickly and in little memory.
func TestHostileYAMLIsRefusedQuicklyInLittleMemory(t *testing.T) {
	bin := buildReconciler(t)
	cases := []struct {
		name string
		// tail is appended to the file, at the top level.
		tail string
		// word is the limit's word in the message, with what follows.
		word string
	}{{
		name: "the issue's alias bomb of lists",
		tail: laughsYAML(8),
		word: "alias expansion exceeds the limit",
	}, {
		name: "an alias bomb of merge keys",
		tail: func() string {
			var b strings.Builder
			b.WriteString("bomb:\n  m0: &m0 {x: lol, y: lol}\n")
			for i := 1; i <= 12; i++ {
				refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 9), ", ")
				fmt.Fprintf(&b, "  m%d: &m%d\n    <<: [%s]\n    k%d: *m%d\n", i, i, refs, i, i-1)
			}
			return b.String()
		}(),
		word: "alias expansion exceeds the limit",
	}, {
		name: "100k nested flow lists",
		tail: "deep: " + strings.Repeat("[", 100_000) + "\n",
		word: "nest more than 64 levels deep (depth limit",
	}, {
		name: "a file over the size limit",
		tail: "junk: \"" + strings.Repeat("x", 5<<20) + "\"\n",
		word: "more than the 4 MiB a file may be (size limit",
	}, {
		name: "10,000 documents",
		tail: strings.Repeat("---\nkind: Junk\n", 10_000),
		word: "more than 10000 YAML documents (size limit",
	}}
	files := map[string]string{"an intent": "base/details.yaml", "a plain resource": "base/peer-authentication.yaml"}
	for _, c := range cases {
		for what, file := range files {
			for _, path := range []string{"base", goodPath} {
				t.Run(fmt.Sprintf("%s in %s, rendering %s", c.name, what, path), func(t *testing.T) {
					r := newBadRepo(t)
					r.appendTo(file, c.tail)
					res := runLimited(t, bin, "render", filepath.Join(r.Dir, filepath.FromSlash(path)))
					if res.code != cli.ExitError {
						t.Errorf("exit code = %d, want %d", res.code, cli.ExitError)
					}
					prefix := "error: "
					if path != "base" {
						prefix += "kustomize build " + path + ": "
					}
					want := regexp.MustCompile("^" + regexp.QuoteMeta(prefix+file) + `:\d+: .*` + regexp.QuoteMeta(c.word))
					if !want.MatchString(res.stderr) {
						t.Errorf("stderr = %q, want %s", clip(res.stderr), want)
					}
					checkReadable(t, res.stderr, 1)
					if res.elapsed > hostileBudget {
						t.Errorf("refused in %s, want well under %s", res.elapsed.Round(time.Millisecond), hostileBudget)
					}
					if res.maxRSS > hostileMaxRSS {
						t.Errorf("peak RSS %s, want under %s", humanBytes(res.maxRSS), humanBytes(hostileMaxRSS))
					}
				})
			}
		}
	}

	t.Run("a lower limit set by flag refuses a smaller alias expansion", func(t *testing.T) {
		r := newBadRepo(t)
		r.appendTo("base/peer-authentication.yaml", laughsYAML(2))
		dir := filepath.Join(r.Dir, "base")
		if res := runLimited(t, bin, "render", dir); res.code != cli.ExitOK {
			t.Fatalf("under the default limits: exit %d: %s", res.code, res.stderr)
		}
		res := runLimited(t, bin, "render", dir, "--max-yaml-alias-nodes", "50")
		if res.code != cli.ExitError || !strings.Contains(res.stderr, "error: base/peer-authentication.yaml:12: alias expansion exceeds the limit") {
			t.Errorf("exit %d, stderr %q, want 2 and the alias limit at line 12", res.code, res.stderr)
		}
	})
}

// limitedResult is a run of the binary: exit code, output, time and peak
// resident memory.
type limitedResult struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
	maxRSS         uint64
}

// runLimited runs bin with args under an address-space limit and a
// deadline (a run over it fails the test, the process killed).
func runLimited(t *testing.T, bin string, args ...string) limitedResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// rsswrap (built beside bin) sets the limit and measures bin's peak
	// RSS: measured from here, a child's ru_maxrss would be this test
	// process's own (see test/badinput/rsswrap).
	wrap := filepath.Join(filepath.Dir(bin), "rsswrap")
	cmd := exec.CommandContext(ctx, wrap, append([]string{strconv.Itoa(hostileAddressSpace), bin}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	res := limitedResult{stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("reconciler %s did not finish within a minute", strings.Join(args, " "))
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running reconciler: %v", err)
	}
	// rsswrap's report is the last line of stderr.
	stderr := strings.TrimRight(res.stderr, "\n")
	cut := strings.LastIndex(stderr, "\n") + 1
	kib, ok := strings.CutPrefix(stderr[cut:], "rsswrap: maxrss=")
	n, perr := strconv.ParseUint(kib, 10, 64)
	if !ok || perr != nil {
		t.Fatalf("rsswrap reported no peak RSS: %q", clip(res.stderr))
	}
	res.maxRSS, res.stderr = n<<10, stderr[:cut]
	t.Logf("reconciler %s → exit %d in %s, peak RSS %s\n%s", strings.Join(args, " "), res.code,
		res.elapsed.Round(time.Millisecond), humanBytes(res.maxRSS), clip(res.stderr))
	return res
}

// buildReconciler builds the CLI into a temporary directory.
func buildReconciler(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "reconciler")
	for out, pkg := range map[string]string{bin: "./cmd/reconciler", filepath.Join(dir, "rsswrap"): "./test/badinput/rsswrap"} {
		if err := testenv.Build(t.Context(), pkg, out, "CGO_ENABLED=0"); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/syncbuf"
	"github.com/meshintent/meshintent/internal/testenv"
)

// TestDemo runs the README's main command end to end as `make demo` does
// (the built binary, as a process of its own), checks the story it tells,
// then plays the newcomer: commits to the demo's repository with the git
// CLI (the post-commit hook sends the webhook), breaks a policy, and
// presses Ctrl-C.
func TestDemo(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set (make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "demo")
	if err := testenv.Build(ctx, "./test/demo", bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "--repo-dir", "../../examples/repo", "--path", "overlays/prod")
	out := &syncbuf.Buffer{} // the demo writes while the test reads
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	}()
	wait := func(re *regexp.Regexp, what string) []string {
		t.Helper()
		for {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				return m
			}
			select {
			case err := <-exited:
				t.Fatalf("the demo exited (%v) before %s", err, what)
			case <-ctx.Done():
				t.Fatalf("no %s within the deadline", what)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	repo := wait(regexp.MustCompile(`\n  cd (\S+)\n`), "what to try next")[1]
	wait(regexp.MustCompile(`Each commit is reported here`), "the end of the summary")

	for _, want := range []string{
		"valid: ", // the policy gate passed
		"VirtualService/bookinfo/reviews created", // the first apply
		"team=books",                                          // the namespace kept its own label
		"applied local: 11 unchanged",                         // the second apply wrote nothing
		"(set by kubectl-patch)",                              // the drift report names the manager
		"made by Kiali wizard",                                // and the unmanaged object
		"VirtualService/bookinfo/reviews configured",          // the correction
		"bookinfo   True    Synced",                           // the controller synced the IntentSync
		"post-commit hook: sent the signed push webhook for ", // the hook ran for the scripted commit
		"Why 63/37/0",                                         // the suspended version's share is explained
		"DriftCorrected",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, re := range []string{
		`commit [0-9a-f]{7} applied in \d+\.\d\d s\n`, // the scripted commit's latency
		`hand edit reverted in \d+\.\d\d s\n`,         // the drift revert's latency
		`Done in \d+s\. What happened:`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("demo output lacks a match of %s", re)
		}
	}

	r := gitfixture.Open(t, repo)
	// commit commits every change with msg and returns what git and the
	// post-commit hook said.
	commit := func(msg string) string {
		t.Helper()
		out, err := gitfixture.CombinedOutput(gitfixture.Command(ctx, repo, "commit", "-qam", msg))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	edit := func(from, to string) {
		t.Helper()
		r.Edit("overlays/prod/reviews.yaml", from, to)
	}

	t.Run("a commit of the user's own is applied through the post-commit hook, with its latency", func(t *testing.T) {
		edit("weight: 60", "weight: 50")
		edit("weight: 35", "weight: 45")
		hookOut := commit("reviews: even more v2")
		head := r.Git("rev-parse", "--short=7", "HEAD")
		if !strings.Contains(hookOut, "sent the signed push webhook for "+head) {
			t.Errorf("the post-commit hook said %q, want it to name %s", hookOut, head)
		}
		m := wait(regexp.MustCompile(`commit `+head+` applied in (\d+\.\d\d) s: reviews: even more v2\n`), "the commit's latency line")
		var secs float64
		if _, err := fmt.Sscanf(m[1], "%g", &secs); err != nil {
			t.Fatalf("latency %q: %v", m[1], err)
		}
		if secs >= 5 {
			t.Errorf("commit applied in %s s: the webhook did not wake the controller (the poll is 30 s)", m[1])
		}
	})

	t.Run("a commit a policy denies is reported with the reason", func(t *testing.T) {
		edit(`    reason: "INC-2291: v3 p99 latency regression, suspended until the fix ships"`+"\n", "")
		commit("reviews: no reason")
		head := r.Git("rev-parse", "--short=7", "HEAD")
		wait(regexp.MustCompile(`commit `+head+` NOT applied \(PolicyDenied\)`), "the denied commit's line")
	})

	t.Run("Ctrl-C ends the demo with exit 0 and a one-line goodbye, without warnings or stack traces", func(t *testing.T) {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("after SIGINT the demo exited with %v, want exit 0", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the demo did not stop within a minute of SIGINT")
		}
		got := out.String()
		lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "Stopped: ") || !strings.HasSuffix(last, "Bye!") {
			t.Errorf("last line = %q, want the goodbye", last)
		}
		for _, bad := range []string{"goroutine ", "stack trace", "SetLogger", "panic", "Error 1", "\tat ", ".go:"} {
			if strings.Contains(got, bad) {
				t.Errorf("output holds %q", bad)
			}
		}
	})
}

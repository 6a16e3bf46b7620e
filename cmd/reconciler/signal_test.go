package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/syncbuf"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// envRunMain makes the test binary run main() instead of the tests: the
// tests start it as the reconciler CLI, a real process that gets real
// signals.
const envRunMain = "MESHINTENT_TEST_RUN_MAIN"

var env *testenv.Env

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	testenv.Main(m, &env)
}

// signalBound is the most a test accepts between the signal and the exit.
// The aim is well under a second (interruptGrace is the backstop); the
// bound is generous so that a loaded machine does not fail the test, and
// the measured figure is logged.
const signalBound = 5 * time.Second

// slowStart is how long after the process starts the signal is sent: the
// slow stage has begun by then, and is far from done (each slow fixture
// takes tens of seconds).
const slowStart = 1500 * time.Millisecond

// virtualServices returns n VirtualServices vs-0… in namespace ns, each
// routing to its own host, as one multi-document YAML file.
func virtualServices(n int, ns string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs-%[1]d
  namespace: %[2]s
spec:
  hosts: [svc-%[1]d.%[2]s.svc.cluster.local]
  http:
  - route:
    - destination: {host: svc-%[1]d.%[2]s.svc.cluster.local}
`, i, ns)
	}
	return b.String()
}

// slowRender writes a repository whose render takes tens of seconds:
// thousands of VirtualServices in namespace ns, through kustomize (not the
// fast path, which builds patches itself but leaves generator options to
// kustomize) with a patch on every one of them.
func slowRender(t *testing.T, ns string) string {
	t.Helper()
	repo := gitfixture.New(t)
	repo.Write("vs.yaml", virtualServices(2500, ns))
	repo.Write("kustomization.yaml", `resources: [vs.yaml]
generatorOptions: {disableNameSuffixHash: true}
commonAnnotations: {team: mesh}
patches:
- target: {kind: VirtualService}
  patch: |-
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: any, labels: {slow: "yes"}}
`)
	repo.Commit("slow render")
	return repo.Dir
}

// slowPolicy writes a repository that renders at once but whose own policy
// loops for minutes over each of a few VirtualServices in namespace ns.
func slowPolicy(t *testing.T, ns string) string {
	t.Helper()
	repo := gitfixture.New(t)
	repo.Write("vs.yaml", virtualServices(4, ns))
	repo.Write("kustomization.yaml", "resources: [vs.yaml]\n")
	repo.Write("policies/slow.rego", `package slowcheck

deny contains msg if {
	input.kind == "VirtualService"
	some i in numbers.range(1, 5000)
	some j in numbers.range(1, 5000)
	i * j == -1
	msg := "never"
}
`)
	repo.Commit("slow policy")
	return repo.Dir
}

// process is the reconciler CLI running as a child process.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	stdout  bytes.Buffer
	stderr  syncbuf.Buffer // read while the process writes it
	done    chan struct{}
	waitErr error
}

// start runs the CLI with args; it is killed when the test ends.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: exec.Command(self, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), envRunMain+"=1")
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig and waits, up to a minute, for the process to end. It
// returns the exit code and the time from the signal to the exit.
func (p *process) signal(t *testing.T, sig syscall.Signal) (int, time.Duration) {
	t.Helper()
	if p.exited() {
		t.Fatalf("the process ended before the signal (%s after it started): %v\nstdout:\n%s\nstderr:\n%s",
			time.Since(p.started), p.waitErr, clip(p.stdout.String()), p.stderr.String())
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("the process did not end within a minute of %s", sig)
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0, took
	case errors.As(p.waitErr, &ee):
		return ee.ExitCode(), took
	default:
		t.Fatalf("waiting for the process: %v", p.waitErr)
		return 0, 0
	}
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// snapshot maps Kind/namespace/name to resourceVersion of every object of
// the kinds an apply could write, cluster-wide.
func snapshot(t *testing.T) map[string]string {
	t.Helper()
	return env.ResourceVersions(t, "",
		meshkinds.VirtualService.GVK(), meshkinds.DestinationRule.GVK(),
		schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
		schema.GroupVersionKind{Version: "v1", Kind: "Namespace"})
}

// TestSignalsStopOneShotCommands starts render, validate and apply on
// repositories whose render or policy evaluation takes tens of seconds,
// sends SIGINT or SIGTERM once the slow stage is under way, and checks
// that the process exits 130 or 143 within signalBound with one line on
// stderr, and, for apply, that the cluster did not change.
func TestSignalsStopOneShotCommands(t *testing.T) {
	tests := []struct {
		name    string
		command string
		repo    func(*testing.T, string) string
		sig     syscall.Signal
	}{
		{"render is stopped by SIGINT during the kustomize build", "render", slowRender, syscall.SIGINT},
		{"render is stopped by SIGTERM during the kustomize build", "render", slowRender, syscall.SIGTERM},
		{"validate is stopped by SIGTERM during the kustomize build", "validate", slowRender, syscall.SIGTERM},
		{"validate is stopped by SIGINT during a policy evaluation", "validate", slowPolicy, syscall.SIGINT},
		{"apply is stopped by SIGINT during the kustomize build and applies nothing", "apply", slowRender, syscall.SIGINT},
		{"apply is stopped by SIGTERM during a policy evaluation and applies nothing", "apply", slowPolicy, syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			dir := tt.repo(t, ns)
			args := []string{tt.command, dir}
			if tt.command == "apply" {
				args = append(args, "--kubeconfig", env.Kubeconfig(t), "--inventory", ns, "--prune")
			}
			before := snapshot(t)
			p := start(t, args...)
			time.Sleep(slowStart)
			code, took := p.signal(t, tt.sig)
			t.Logf("%s exited %d %s after %s", tt.command, code, took.Round(time.Millisecond), signalName(tt.sig))

			if want := 128 + int(tt.sig); code != want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, want, p.stderr.String())
			}
			if took > signalBound {
				t.Errorf("exited %s after the signal, want within %s", took.Round(time.Millisecond), signalBound)
			}
			// This line (rather than main's backstop's) says the command
			// itself returned on the cancellation.
			want := fmt.Sprintf("error: interrupted by %s\n", signalName(tt.sig))
			if diff := cmp.Diff(want, p.stderr.String()); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, snapshot(t)); diff != "" {
				t.Errorf("the cluster changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestSignalStopsTheControllerGracefully checks that `run` still treats
// SIGTERM as a graceful shutdown: it stops its workers and exits 0, as a
// Deployment's rollout expects.
func TestSignalStopsTheControllerGracefully(t *testing.T) {
	ns := env.Namespace(t)
	p := start(t, "run", "--kubeconfig", env.Kubeconfig(t), "--namespace", ns,
		"--metrics-addr", "0", "--health-probe-addr", "0", "--cache-dir", t.TempDir())
	// Wait until the manager has started.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), `"starting"`) {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("the controller did not start; stderr:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	code, took := p.signal(t, syscall.SIGTERM)
	t.Logf("run exited %d %s after SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit code %d, want 0 after a graceful shutdown; stderr:\n%s", code, lastLines(p.stderr.String(), 20))
	}
	if took > 15*time.Second {
		t.Errorf("shut down in %s, want within 15s", took.Round(time.Millisecond))
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestRunWithoutASignal checks that a command that finishes before any
// signal keeps its own exit code, and the codes given for signals.
func TestRunWithoutASignal(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"a command that succeeds exits 0", []string{"schema"}, 0},
		{"an unknown command exits 2", []string{"no-such-command"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args, io.Discard, io.Discard, make(chan os.Signal)); got != tt.want {
				t.Errorf("exit code %d, want %d", got, tt.want)
			}
		})
	}
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		if got := exitCode(sig); got != want {
			t.Errorf("exitCode(%s) = %d, want %d", signalName(sig), got, want)
		}
	}
}

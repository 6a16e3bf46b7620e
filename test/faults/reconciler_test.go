package faults

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/syncbuf"
)

// replica is a `reconciler run` subprocess: one replica of the controller.
type replica struct {
	name     string
	cacheDir string
	cmd      *exec.Cmd
	log      *syncbuf.Buffer
	// done is closed when the process has exited.
	done chan struct{}
	// exited is when it exited.
	exited time.Time
}

// startController runs `reconciler run` for the IntentSyncs of ns with the
// Git cache in cacheDir, plus extra flags. Its metrics and probe listeners
// are off, so replicas and other packages' tests never compete for ports.
// It is stopped when the test ends; its log is printed when the test failed.
func startController(t *testing.T, name, ns, cacheDir string, extra ...string) *replica {
	t.Helper()
	args := append([]string{"run",
		"--kubeconfig", kubeconfig,
		"--namespace", ns,
		"--cache-dir", cacheDir,
		"--metrics-addr", "0",
		"--health-probe-addr", "0",
		"--zap-time-encoding", "rfc3339nano",
	}, extra...)
	c := &replica{name: name, cacheDir: cacheDir, log: &syncbuf.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(reconcilerBin, args...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	dieWithParent(c.cmd)
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting controller %s: %v", name, err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.exited = time.Now()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("controller %s log:\n%s", c.name, c.log.String())
		}
	})
	return c
}

// kill sends SIGKILL (no graceful shutdown, no lease release) and waits
// for the process to be gone.
func (c *replica) kill(t *testing.T) time.Time {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("controller %s did not die within 30s of SIGKILL", c.name)
	}
	return c.exited
}

// stop sends SIGTERM and waits; SIGKILL after 15s.
func (c *replica) stop(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		t.Errorf("controller %s did not stop within 15s of SIGTERM", c.name)
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
	}
}

// running reports whether the process is alive.
func (c *replica) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// logLine is one line of the controller's JSON log.
type logLine map[string]any

func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

// lines returns the controller's log lines that match every key=value
// pair of kv (values compared as strings, a value "~x" meaning "contains
// x"); lines that are not JSON are skipped.
func (c *replica) lines(kv ...string) []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(c.log.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
next:
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			have := fmt.Sprint(l[kv[i]])
			want := kv[i+1]
			if sub, ok := strings.CutPrefix(want, "~"); ok {
				if !strings.Contains(have, sub) {
					continue next
				}
			} else if have != want {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// waitLine waits until a log line matches kv and returns it.
func (c *replica) waitLine(t *testing.T, timeout time.Duration, kv ...string) logLine {
	t.Helper()
	var found logLine
	eventually(t, timeout, func() error {
		if ls := c.lines(kv...); len(ls) > 0 {
			found = ls[0]
			return nil
		}
		if !c.running() {
			return errors.New("controller " + c.name + " exited")
		}
		return fmt.Errorf("no line of controller %s matches %q", c.name, kv)
	})
	return found
}

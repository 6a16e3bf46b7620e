// Command reconciler is meshintent's command line and controller.
//
// main wires the process to internal/cli and owns what only a process has:
// signals and the exit code. SIGINT and SIGTERM cancel the command's
// context; a one-shot command (render, validate, apply...) then exits
// 128+signal (130 for SIGINT, 143 for SIGTERM, as shells report) with one
// line on stderr, within interruptGrace of the signal even if some stage
// ignores the cancellation. The controller (`run`) instead shuts down
// gracefully on the first signal and exits with its own code (0 after a
// clean shutdown); a second signal ends any command at once.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
)

// interruptGrace is how long a one-shot command has, after SIGINT or
// SIGTERM, to return on its own before the process exits anyway. Every
// stage returns on cancellation well within it (the render, the policy
// evaluation and the apply look at their context); it is a backstop for
// a call that does not.
const interruptGrace = 2 * time.Second

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sigs))
}

// interrupted is the cancellation cause a signal leaves on the command's
// context: errors.Is(err, context.Canceled) holds for it, so code that
// checks for cancellation sees one.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

func (e *interrupted) Is(target error) bool { return target == context.Canceled }

// run runs the command line args and returns the process's exit code,
// handling the signals that arrive on sigs as the package comment says.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	controller := len(args) > 0 && args[0] == "run"

	// After a signal, a one-shot command's own report of the cancellation
	// (its stage's "cancelled" error) is dropped: the line main prints says
	// it once. The controller's logs are kept whole.
	var errOut io.Writer = stderr
	var muted *gate
	if !controller {
		muted = &gate{w: stderr}
		errOut = muted
	}
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, args, stdout, errOut) }()

	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	cancel(&interrupted{sig: sig})
	if controller {
		// Graceful shutdown: leader election released, workers drained.
		select {
		case code := <-done:
			return code
		case sig = <-sigs:
			fmt.Fprintf(stderr, "error: %s again: exiting without a graceful shutdown\n", signalName(sig))
			return exitCode(sig)
		}
	}
	muted.close()
	select {
	case <-done:
		fmt.Fprintf(stderr, "error: interrupted by %s\n", signalName(sig))
	case <-time.After(interruptGrace):
		fmt.Fprintf(stderr, "error: interrupted by %s (exiting without waiting: the command did not stop within %s)\n",
			signalName(sig), interruptGrace)
	case sig = <-sigs:
		fmt.Fprintf(stderr, "error: interrupted by %s again: exiting without waiting\n", signalName(sig))
	}
	return exitCode(sig)
}

// exitCode is the shell's code for a process ended by sig: 128 + its number.
func exitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// signalName is SIGINT, SIGTERM...
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// gate passes writes through to w until it is closed, and drops them after.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

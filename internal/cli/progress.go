package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/meshintent/meshintent/pkg/termsafe"
)

// progress draws one status line on stderr, "rendering overlays/prod… 1.2s",
// while work that has taken longer than delay goes on, redrawn every interval
// and erased when the work is done. It is for people watching a terminal:
// when disabled (stderr piped or a file, CI, TERM=dumb) it writes nothing.
type progress struct {
	w       io.Writer
	enabled bool
	// delay is how long work runs before the line appears, so that quick
	// commands never flicker.
	delay time.Duration
	// every is the redraw interval.
	every time.Duration
}

// maxProgressLabel bounds the label so that the line fits a terminal's width
// and "\r" plus erase-line clears it whole.
const maxProgressLabel = 60

// eraseLine returns the cursor to column 0 and clears the line (CR, EL).
const eraseLine = "\r\x1b[K"

// start shows label while the work runs and returns the function that ends
// it: it erases the line, if one was drawn, and returns once nothing more
// will be written. A nil or disabled progress returns a no-op.
func (p *progress) start(label string) (stop func()) {
	if p == nil || !p.enabled {
		return func() {}
	}
	label = termsafe.Line(label)
	if utf8.RuneCountInString(label) > maxProgressLabel {
		r := []rune(label)
		label = "…" + string(r[len(r)-maxProgressLabel+1:])
	}
	begin := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		wait := time.NewTimer(p.delay)
		defer wait.Stop()
		select {
		case <-done:
			return
		case <-wait.C:
		}
		tick := time.NewTicker(p.every)
		defer tick.Stop()
		for {
			fmt.Fprintf(p.w, "%s%s… %.1fs", eraseLine, label, time.Since(begin).Seconds())
			select {
			case <-done:
				fmt.Fprint(p.w, eraseLine)
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// progressKey is the context key of the command's progress line.
type progressKey struct{}

// withProgress returns ctx carrying p.
func withProgress(ctx context.Context, p *progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// startProgress shows label on the progress line of ctx's command while the
// work runs; call the returned function when it is done. Without a progress
// line in ctx (library use, tests) it does nothing.
func startProgress(ctx context.Context, label string) (stop func()) {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p.start(label)
}

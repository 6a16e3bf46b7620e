package cli

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/syncbuf"
)

func TestProgress(t *testing.T) {
	frame := regexp.MustCompile(`^rendering overlays/prod… \d+\.\ds$`)
	t.Run("work longer than the delay shows a line, redrawn and erased at the end", func(t *testing.T) {
		var w syncbuf.Buffer // a terminal stand-in: the progress line writes from its own goroutine
		p := &progress{w: &w, enabled: true, delay: 20 * time.Millisecond, every: 10 * time.Millisecond}
		stop := p.start("rendering overlays/prod")
		time.Sleep(150 * time.Millisecond)
		stop()
		out := w.String()
		if !strings.HasSuffix(out, eraseLine) {
			t.Fatalf("the line is not erased at the end: %q", out)
		}
		// Each frame starts by erasing the line it redraws.
		frames := strings.Split(strings.TrimSuffix(out, eraseLine), eraseLine)
		if frames[0] != "" {
			t.Fatalf("the first frame does not start at column 0: %q", out)
		}
		frames = frames[1:]
		if len(frames) < 2 {
			t.Fatalf("want the line redrawn, got %q", out)
		}
		for _, f := range frames {
			if !frame.MatchString(f) {
				t.Errorf("frame %q", f)
			}
		}
		stop() // a second stop is harmless
		if w.String() != out {
			t.Errorf("written after stop: %q", w.String())
		}
	})
	t.Run("work shorter than the delay writes nothing", func(t *testing.T) {
		var w syncbuf.Buffer
		p := &progress{w: &w, enabled: true, delay: time.Second, every: 10 * time.Millisecond}
		p.start("rendering overlays/prod")()
		if w.String() != "" {
			t.Errorf("wrote %q", w.String())
		}
	})
	t.Run("a disabled line writes nothing however long the work", func(t *testing.T) {
		var w syncbuf.Buffer
		p := &progress{w: &w, enabled: false, delay: time.Millisecond, every: time.Millisecond}
		stop := p.start("rendering overlays/prod")
		time.Sleep(30 * time.Millisecond)
		stop()
		if w.String() != "" {
			t.Errorf("wrote %q", w.String())
		}
	})
	t.Run("a label cannot move the cursor and is kept short", func(t *testing.T) {
		var w syncbuf.Buffer
		p := &progress{w: &w, enabled: true, delay: time.Millisecond, every: time.Hour}
		stop := p.start("rendering \x1b[2J" + strings.Repeat("x", 100))
		time.Sleep(30 * time.Millisecond)
		stop()
		body := strings.TrimSuffix(strings.TrimPrefix(w.String(), eraseLine), eraseLine)
		if strings.Contains(body, "\x1b") {
			t.Errorf("an escape from the label reached the terminal: %q", body)
		}
		if label, _, _ := strings.Cut(body, "… "); len([]rune(label)) > maxProgressLabel+1 {
			t.Errorf("label of %d runes: %q", len([]rune(label)), label)
		}
	})
	t.Run("a context without a progress line does nothing", func(t *testing.T) {
		startProgress(context.Background(), "rendering")()
	})
}

func TestProgressOnlyOnInteractiveStderr(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		env  envGetter
		want bool
	}{
		{"a terminal shows it", true, env("TERM", "xterm"), true},
		{"NO_COLOR does not hide it", true, env("NO_COLOR", "1"), true},
		{"a pipe does not", false, env("TERM", "xterm"), false},
		{"CI does not", true, env("CI", "1"), false},
		{"TERM=dumb does not", true, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The decision the root command takes once flags are parsed.
			a := &app{stdout: io.Discard, stderr: io.Discard, getenv: tt.env, isTerminal: func(io.Writer) bool { return tt.tty }}
			if code := a.run(t.Context(), []string{"schema"}); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if a.progress == nil {
				t.Fatal("no progress line configured")
			}
			got := a.progress.enabled
			if got != tt.want {
				t.Errorf("progress enabled = %t, want %t", got, tt.want)
			}
		})
	}
}

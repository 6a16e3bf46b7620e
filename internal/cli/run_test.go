package cli

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestRunSetsGCPercent checks that `run` sets the garbage collector target
// to runGCPercent when $GOGC is unset, and leaves an operator's $GOGC alone.
func TestRunSetsGCPercent(t *testing.T) {
	tests := []struct {
		name string
		gogc *string // nil: unset
		want int
	}{
		{name: "GOGC unset", want: runGCPercent},
		{name: "GOGC set", gogc: new("200"), want: 100},
	}
	missing := filepath.Join(t.TempDir(), "no-kubeconfig")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", "") // restored after the test
			if tt.gogc == nil {
				os.Unsetenv("GOGC")
			} else {
				os.Setenv("GOGC", *tt.gogc)
			}
			defer debug.SetGCPercent(debug.SetGCPercent(100)) // this test binary's GOGC, restored
			// The kubeconfig does not exist, so run stops after setting up.
			if code, _, stderr := run(t, "run", "--kubeconfig", missing); code == 0 {
				t.Fatalf("run with a missing kubeconfig succeeded: %s", stderr)
			}
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC percent after run = %d, want %d", got, tt.want)
			}
		})
	}
}

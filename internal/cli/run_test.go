package cli

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
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

// TestRunLiveChecksFlag checks that `run` has --live-checks, off unless
// given, and that its help says why it is off and what RBAC it needs.
func TestRunLiveChecksFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "off by default", args: nil, want: "false"},
		{name: "on when given", args: []string{"--live-checks"}, want: "true"},
		{name: "off when turned off", args: []string{"--live-checks=false"}, want: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newRunCommand(&app{})
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatalf("parsing %q: %v", tt.args, err)
			}
			f := cmd.Flags().Lookup("live-checks")
			if f == nil {
				t.Fatal("run has no --live-checks flag")
			}
			if got := f.Value.String(); got != tt.want {
				t.Errorf("--live-checks = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("the YAML limits are flags of run too", func(t *testing.T) {
		cmd := newRunCommand(&app{})
		if err := cmd.ParseFlags([]string{"--max-yaml-alias-nodes", "50", "--max-file-size", "1Mi"}); err != nil {
			t.Fatal(err)
		}
		for flag, want := range map[string]string{"max-yaml-alias-nodes": "50", "max-file-size": "1 MiB"} {
			if f := cmd.Flags().Lookup(flag); f == nil || f.Value.String() != want {
				t.Errorf("--%s = %v, want %s", flag, f, want)
			}
		}
	})
	t.Run("the help says why it is off and what it needs", func(t *testing.T) {
		_, stdout, _ := run(t, "run", "--help")
		help := strings.Join(strings.Fields(stdout), " ") // the usage wraps
		wantContains(t, "run --help", help, "--live-checks", "IST0101", "routing often merges before the Services it names exist", "list on services and pods", "config/rbac/role.yaml")
	})
}

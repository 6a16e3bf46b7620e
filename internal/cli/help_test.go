package cli

import (
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandPaths lists the argument paths of every command the CLI has, cobra's
// own help and completion commands included ([] is the root).
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	root := newRootCommand(&app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, isTerminal: isTerminal})
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden {
			return
		}
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(root, nil)
	if len(paths) < 15 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	return paths
}

// exitLine is one line of the "Exit codes:" block.
var exitLine = regexp.MustCompile(`^  (\d+)  \S`)

func TestHelpListsExitCodes(t *testing.T) {
	for _, path := range commandPaths(t) {
		name := strings.Join(append([]string{"reconciler"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(slices.Clone(path), "--help")...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			_, block, ok := strings.Cut(stdout, "\nExit codes:\n")
			if !ok {
				t.Fatalf("no \"Exit codes:\" block in --help:\n%s", stdout)
			}
			var codes []int
			for _, line := range strings.Split(block, "\n") {
				m := exitLine.FindStringSubmatch(line)
				if m == nil {
					break
				}
				c, _ := strconv.Atoi(m[1])
				codes = append(codes, c)
			}
			if len(codes) == 0 || codes[0] != ExitOK || codes[len(codes)-1] != ExitError {
				t.Errorf("exit codes %v: want 0 first and 2 last", codes)
			}
			for _, c := range codes {
				if c != ExitOK && c != ExitDenied && c != ExitError {
					t.Errorf("documented exit code %d: only 0, 1 and 2 exist", c)
				}
			}
			if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
				t.Errorf("exit codes %v are not listed once each, in order", codes)
			}
		})
	}
}

func TestHelpShowsFlagsPlainly(t *testing.T) {
	for _, path := range commandPaths(t) {
		name := strings.Join(append([]string{"reconciler"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			_, stdout, _ := run(t, append(slices.Clone(path), "--help")...)
			if strings.Contains(stdout, "[=true|false]") {
				t.Errorf("a boolean flag shows [=true|false]:\n%s", stdout)
			}
			if !regexp.MustCompile(`(?m)^  -h, --help +help for `).MatchString(stdout) {
				t.Errorf("no \"-h, --help   help for …\" line:\n%s", stdout)
			}
			if !regexp.MustCompile(`(?m)^      --no-color +no colour`).MatchString(stdout) {
				t.Errorf("no --no-color line:\n%s", stdout)
			}
		})
	}
	t.Run("a boolean flag that defaults to true still says so", func(t *testing.T) {
		cmd := &cobra.Command{Use: "x"}
		cmd.Flags().Bool("prune", true, "prune")
		cmd.Flags().Bool("force", false, "force")
		got := flagUsages(cmd.Flags())
		want := "      --force   force\n      --prune   prune (default true)\n"
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestBadInputExitsTwo(t *testing.T) {
	t.Run("every command refuses an unknown flag with exit 2", func(t *testing.T) {
		for _, path := range commandPaths(t) {
			code, stdout, stderr := run(t, append(slices.Clone(path), "--no-such-flag")...)
			if code != ExitError {
				t.Errorf("%v --no-such-flag: exit %d, want 2", path, code)
			}
			if stdout != "" || !strings.HasPrefix(stderr, "error: unknown flag: --no-such-flag") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%v --no-such-flag: want one error line on stderr and nothing on stdout, got %q, %q", path, stdout, stderr)
			}
		}
	})
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown command", []string{"rendr"}},
		{"an unknown subcommand of a group", []string{"policy", "tst"}},
		{"an unknown shorthand flag", []string{"validate", "-Z"}},
		{"a flag without its value", []string{"validate", "--output"}},
		{"a flag value of the wrong type", []string{"render", "--timeout", "soon"}},
		{"too many arguments", []string{"validate", "a", "b"}},
		{"an argument to a command that takes none", []string{"schema", "extra"}},
		{"an unknown version format", []string{"version", "-o", "yaml"}},
		{"a directory that does not exist", []string{"validate", "/does/not/exist"}},
		{"diff without input", []string{"diff"}},
		{"report without input", []string{"report"}},
		{"import without a namespace", []string{"import"}},
		{"plan without refs", []string{"plan", "."}},
		{"an unknown completion shell", []string{"completion", "tcsh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != ExitError {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.HasPrefix(stderr, "error: ") {
				t.Errorf("stderr %q does not start with error:", stderr)
			}
		})
	}
}

package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// env is an environment for tests.
func env(kv ...string) envGetter {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name    string
		tty     bool
		noColor bool
		env     envGetter
		want    bool
	}{
		{"a terminal gets colour", true, false, env("TERM", "xterm-256color"), true},
		{"a terminal without TERM gets colour", true, false, env(), true},
		{"a pipe or file gets none", false, false, env("TERM", "xterm"), false},
		{"--no-color turns it off", true, true, env("TERM", "xterm"), false},
		{"NO_COLOR turns it off", true, false, env("NO_COLOR", "1"), false},
		{"NO_COLOR with any value turns it off", true, false, env("NO_COLOR", "false"), false},
		{"an empty NO_COLOR does not", true, false, env("NO_COLOR", ""), true},
		{"CI turns it off", true, false, env("CI", "true"), false},
		{"TERM=dumb turns it off", true, false, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := colorEnabled(tt.tty, tt.noColor, tt.env); got != tt.want {
				t.Errorf("colorEnabled = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 warnings", 1: "1 warning", 2: "2 warnings"} {
		if got := plural(n, "warning", "warnings"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

// runApp runs the CLI in-process as if stdout and stderr were terminals
// (tty) or not, with the environment e.
func runApp(t *testing.T, tty bool, e envGetter, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, getenv: e, isTerminal: func(io.Writer) bool { return tty }}
	code = a.run(t.Context(), args)
	return code, out.String(), errOut.String()
}

func TestColorInOutput(t *testing.T) {
	// overlays/staging warns (fault injection outside production is
	// allowed, TLS…); a repository with a denial is made below.
	denying := t.TempDir()
	gitfixture.WriteTree(t, denying, map[string]string{
		"kustomization.yaml": "resources: [svc.yaml]\n",
		"svc.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: reviews, namespace: shop}\n" +
			"spec:\n  versions: [{name: v1}]\n  suspend: {all: true}\n",
	})
	tests := []struct {
		name      string
		tty       bool
		env       envGetter
		args      []string
		wantColor bool
	}{
		{"a terminal gets a red DENY and verdict", true, env("TERM", "xterm"), []string{"validate", denying}, true},
		{"a pipe gets none", false, env("TERM", "xterm"), []string{"validate", denying}, false},
		{"NO_COLOR on a terminal gets none", true, env("TERM", "xterm", "NO_COLOR", "1"), []string{"validate", denying}, false},
		{"--no-color on a terminal gets none", true, env("TERM", "xterm"), []string{"validate", "--no-color", denying}, false},
		{"CI on a terminal gets none", true, env("TERM", "xterm", "CI", "true"), []string{"validate", denying}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, tt.tty, tt.env, tt.args...)
			if code != ExitDenied {
				t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			hasESC := strings.Contains(stdout+stderr, "\x1b")
			if hasESC != tt.wantColor {
				t.Errorf("escape codes in the output: %t, want %t\n%q", hasESC, tt.wantColor, stdout)
			}
			if tt.wantColor {
				wantContains(t, "stdout", stdout, sgrRed+"DENY"+sgrReset+" ", sgrRed+"denied"+sgrReset+": ")
			}
			// Colour never changes the words.
			if plain := stripSGR(stdout); !strings.Contains(plain, "DENY ") || !strings.Contains(plain, "denied: ") {
				t.Errorf("output %q", plain)
			}
		})
	}
}

// stripSGR removes the colour codes style writes.
func stripSGR(s string) string {
	return strings.NewReplacer(sgrReset, "", sgrBold, "", sgrRed, "", sgrYellow, "", sgrGreen, "").Replace(s)
}

func TestSummaryPlurals(t *testing.T) {
	dir := t.TempDir()
	gitfixture.WriteTree(t, dir, map[string]string{
		"kustomization.yaml": "resources: [ns.yaml]\n",
		"ns.yaml":            "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: shop}\nspec: {dataplane: sidecar}\n",
	})
	code, stdout, stderr := run(t, "validate", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if want := "valid: 1 object from 1 intent, 0 denied, 0 warnings\n"; !strings.HasSuffix(stdout, want) {
		t.Errorf("summary %q, want %q", stdout, want)
	}
}

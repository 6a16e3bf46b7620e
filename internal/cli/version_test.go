package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// moduleVersions asks the go command for the versions go.mod selects.
func moduleVersions(t *testing.T, paths ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, paths...)...).Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, v, _ := strings.Cut(line, " ")
		m[p] = v
	}
	return m
}

func TestVersion(t *testing.T) {
	// A test binary carries no module versions (go test does not stamp
	// them); TestBuiltBinary checks those on a real build.
	t.Run("json carries the Go version and platform", func(t *testing.T) {
		v := runJSON[versionInfo](t, ExitOK, "version", "-o", "json")
		if v.Go != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH || v.Version == "" {
			t.Errorf("version %+v", v)
		}
	})
	t.Run("text names each part on its own line", func(t *testing.T) {
		code, stdout, _ := run(t, "version")
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		wantContains(t, "version", stdout, "reconciler ", "\n  commit ", "\n  go          "+runtime.Version(), "\n  kustomize ", "\n  opa ", "\n  kubernetes ", "\n  istio ")
	})
}

// buildReconciler builds cmd/reconciler from the module root with VCS
// stamping, as `make build` and release builds do, and returns its path.
func buildReconciler(t *testing.T, dir string, ldflags string) string {
	t.Helper()
	bin := filepath.Join(dir, "reconciler")
	args := []string{"build", "-buildvcs=true", "-o", bin}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, "./cmd/reconciler")...)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// git runs git in the module root.
func gitOutput(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// versionOf runs `bin version -o json`.
func versionOf(t *testing.T, name string, args ...string) (versionInfo, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(name, append(args, "version", "-o", "json")...).Output()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s version: %v", name, err)
	}
	var v versionInfo
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version: %v\n%s", name, err, out)
	}
	return v, took
}

// TestBuiltBinary runs the real binary: what `go build` stamps into it, and
// its colour on pipes and on a real pseudo-terminal.
func TestBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildReconciler(t, t.TempDir(), "")
	t.Run("a build from the work tree names its commit", func(t *testing.T) {
		v, took := versionOf(t, bin)
		t.Logf("%s version took %s", bin, took)
		if head := gitOutput(t, "rev-parse", "HEAD"); v.Commit != head {
			t.Errorf("commit %q, want HEAD %q", v.Commit, head)
		}
		dirty := gitOutput(t, "status", "--porcelain") != ""
		if v.Modified != dirty {
			t.Errorf("modified %t, but git status says %t", v.Modified, dirty)
		}
		want := moduleVersions(t, modKustomize, modOPA, modKubernetes, modIstio)
		got := map[string]string{modKustomize: v.Kustomize, modOPA: v.OPA, modKubernetes: v.Kubernetes, modIstio: v.Istio}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("module versions (-want +got):\n%s", diff)
		}
		if v.Version == "" || v.CommitTime == "" || v.Go != runtime.Version() {
			t.Errorf("version %+v", v)
		}
	})
	t.Run("-ldflags set the version and commit of a release", func(t *testing.T) {
		const pkg = "github.com/meshintent/meshintent/internal/cli"
		bin := buildReconciler(t, t.TempDir(), "-X "+pkg+".buildVersion=v9.8.7 -X "+pkg+".buildCommit=0123456789abcdef")
		v, _ := versionOf(t, bin)
		if v.Version != "v9.8.7" || v.Commit != "0123456789abcdef" || v.Modified {
			t.Errorf("version %+v", v)
		}
	})
	t.Run("go run works and says what it knows", func(t *testing.T) {
		cmd := exec.Command("go", "run", "./cmd/reconciler", "version", "-o", "json")
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go run: %v", err)
		}
		var v versionInfo
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if v.Go != runtime.Version() || v.Kustomize == "" || v.Version == "" {
			t.Errorf("version %+v", v)
		}
	})
	t.Run("colour", func(t *testing.T) { testColorOfTheBinary(t, bin) })
}

// environWithout returns the process environment without the named
// variables, plus extra.
func environWithout(names []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// testColorOfTheBinary runs bin with its output piped and on a
// pseudo-terminal.
func testColorOfTheBinary(t *testing.T, bin string) {
	dir := t.TempDir()
	gitfixture.WriteTree(t, dir, map[string]string{
		"kustomization.yaml": "resources: [svc.yaml]\n",
		"svc.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: reviews, namespace: shop}\n" +
			"spec:\n  versions: [{name: v1}]\n  suspend: {all: true}\n",
	})
	colourEnv := environWithout([]string{"CI", "NO_COLOR", "TERM"}, "TERM=xterm-256color")
	t.Run("piped output has no escape codes", func(t *testing.T) {
		cmd := exec.Command(bin, "validate", dir)
		cmd.Env = colourEnv
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != ExitDenied {
			t.Fatalf("want exit 1, got %v\n%s%s", err, stdout.String(), stderr.String())
		}
		if bytes.ContainsRune(stdout.Bytes(), 0x1b) || bytes.ContainsRune(stderr.Bytes(), 0x1b) {
			t.Errorf("escape codes in piped output: %q %q", stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "DENY ") {
			t.Errorf("stdout %q", stdout.String())
		}
	})
	// script(1) runs the binary on a real pseudo-terminal: the same run
	// does get colour there, unless it is turned off.
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) for a pseudo-terminal")
	}
	for _, tt := range []struct {
		name  string
		env   []string
		flags string
		want  bool
	}{
		{"a terminal gets colour", colourEnv, "", true},
		{"NO_COLOR on a terminal gets none", append(slices.Clone(colourEnv), "NO_COLOR=1"), "", false},
		{"CI on a terminal gets none", append(slices.Clone(colourEnv), "CI=true"), "", false},
		{"--no-color on a terminal gets none", colourEnv, " --no-color", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(script, "-q", "-e", "-c", bin+" validate "+dir+tt.flags, "/dev/null")
			cmd.Env = tt.env
			out, err := cmd.Output()
			if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != ExitDenied {
				t.Fatalf("want exit 1, got %v\n%s", err, out)
			}
			if got := bytes.Contains(out, []byte(sgrRed+"DENY"+sgrReset)); got != tt.want {
				t.Errorf("red DENY: %t, want %t\n%q", got, tt.want, out)
			}
			if !tt.want && bytes.ContainsRune(out, 0x1b) {
				t.Errorf("escape codes: %q", out)
			}
		})
	}
}

package badinput

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// hostileRego is a repository policy whose line 5 calls call.
func hostileRego(call string) string {
	return "package hostile\n\ndeny contains msg if {\n\tinput.kind == \"VirtualService\"\n\tx := " + call + "\n\tmsg := sprintf(\"%v\", [x])\n}\n"
}

// loopRego never ends in practice: 10^12 iterations keeping nothing.
var loopRego = fixture("loop.rego")

// TestHostilePolicies runs validate and apply on repositories whose
// policies try to reach outside the process, loop, or are too large, or
// whose policies, data and meshintent.yaml leave the repository through
// symlinks. Each is refused with exit 2 and an error naming the file (and
// line and builtin, or link, or limit); nothing leaves the process and
// nothing is applied.
func TestHostilePolicies(t *testing.T) {
	c := setUpCluster(t)

	// A local listener that counts what arrives: http.send must not reach it.
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()

	outside := t.TempDir()
	gitfixture.WriteFile(t, filepath.Join(outside, "evil.rego"), []byte(hostileRego(`"x"`)))
	gitfixture.WriteFile(t, filepath.Join(outside, "meshintent.yaml"), []byte("policies: []\n"))

	const budget = 2 * time.Second
	tests := []struct {
		name string
		// prepare changes the copy of the example repository at dir.
		prepare func(t *testing.T, dir string)
		// want are the strings stderr must hold.
		want []string
		// within bounds the run's time, when set.
		within time.Duration
	}{{
		name: "http.send to a local listener",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "policies", "hostile.rego"), []byte(hostileRego(`http.send({"method": "GET", "url": "`+srv.URL+`"})`)))
		},
		want: []string{"policies/hostile.rego:5: builtin http.send is not allowed in policies: it makes HTTP requests"},
	}, {
		name: "net.lookup_ip_addr",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "policies", "hostile.rego"), []byte(hostileRego(`net.lookup_ip_addr("example.com")`)))
		},
		want: []string{"policies/hostile.rego:5: builtin net.lookup_ip_addr is not allowed in policies"},
	}, {
		name: "opa.runtime",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "policies", "hostile.rego"), []byte(hostileRego(`opa.runtime().env`)))
		},
		want: []string{"policies/hostile.rego:5: builtin opa.runtime is not allowed in policies"},
	}, {
		name: "json.match_schema with a file $ref",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "policies", "hostile.rego"), []byte(hostileRego(`json.match_schema({}, {"$ref": "file:///etc/passwd"})`)))
		},
		want: []string{"policies/hostile.rego:5: builtin json.match_schema is not allowed in policies"},
	}, {
		name: "an unbounded loop",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "policies", "hostile.rego"), []byte(loopRego))
		},
		want:   []string{"policy evaluation took longer than its budget of 2s"},
		within: budget + 8*time.Second, // and the render before it, on a shared machine
	}, {
		name: "a 50 MB data file",
		prepare: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "policies", "data.yaml")
			gitfixture.WriteFile(t, p, []byte("meshintent:\n  config: {}\n"))
			if err := os.Truncate(p, 50<<20); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"reading data policies/data.yaml: the file is 50.0 MiB, more than the limit of 4.0 MiB"},
	}, {
		name: "the policies directory linked outside the repository",
		prepare: func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "policies")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "policies")); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"policies: a symlink leads outside the repository"},
	}, {
		name: "a policy linked to /etc/passwd",
		prepare: func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "policies", "passwd.rego")); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"policies/passwd.rego: a symlink leads outside the repository: it leads to /etc/passwd"},
	}, {
		name: "a data file linked outside the repository",
		prepare: func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(outside, "meshintent.yaml"), filepath.Join(dir, "policies", "data.yaml")); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"policies/data.yaml: a symlink leads outside the repository"},
	}, {
		name: "meshintent.yaml linked outside the repository",
		prepare: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "meshintent.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(outside, "meshintent.yaml"), p); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"meshintent.yaml: a symlink leads outside the repository"},
	}, {
		name: "a policy directory of meshintent.yaml reached by ..",
		prepare: func(t *testing.T, dir string) {
			gitfixture.WriteFile(t, filepath.Join(dir, "meshintent.yaml"), []byte("policies: [policies, base/../..]\n"))
		},
		want: []string{`meshintent.yaml: policies[1]: "base/../.." is outside the repository`},
	}}
	for _, tt := range tests {
		for _, verb := range []string{"validate", "apply"} {
			t.Run(verb+" refuses "+tt.name+" with exit 2", func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "repo")
				gitfixture.CopyTree(t, exampleRepo, dir)
				tt.prepare(t, dir)
				before := requests.Load()
				args := []string{verb, filepath.Join(dir, goodPath), "--policy-timeout", budget.String()}
				if verb == "apply" {
					args = append(args, "--kubeconfig", c.kubeconfig)
				}
				res := reconciler(t, 2*time.Minute, args...)
				if res.code != cli.ExitError {
					t.Errorf("exit %d, want %d", res.code, cli.ExitError)
				}
				for _, w := range tt.want {
					if !strings.Contains(res.stderr, w) {
						t.Errorf("stderr does not say %q:\n%s", w, res.stderr)
					}
				}
				if tt.within > 0 && res.elapsed > tt.within {
					t.Errorf("took %s, want the budget to stop it within %s", res.elapsed, tt.within)
				}
				if n := requests.Load() - before; n != 0 {
					t.Errorf("%d requests arrived at the local listener", n)
				}
				checkReadable(t, res.stderr, 1)
				if verb == "apply" {
					c.checkUnchanged(t)
				}
			})
		}
	}
}

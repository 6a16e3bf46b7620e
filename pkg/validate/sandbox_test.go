package validate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// repoSource is a policy source named "policies" holding files.
func repoSource(files map[string]string) Source {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return Source{Name: "policies", FS: fsys}
}

func TestDeniedBuiltinsFailToCompile(t *testing.T) {
	// Each denied builtin, called three ways: in an assignment, as an
	// expression of its own, and nested in another call.
	shapes := []struct {
		name string
		body func(builtin string) string
	}{
		{"assigned", func(b string) string {
			return fmt.Sprintf("\tx := %s({\"url\": \"http://127.0.0.1:1\"})\n\tx != null\n", b)
		}},
		{"an expression of its own", func(b string) string { return fmt.Sprintf("\t%s({\"url\": \"http://127.0.0.1:1\"})\n", b) }},
		{"nested in another call", func(b string) string { return fmt.Sprintf("\tcount([%s({\"u\": 1})]) > 0\n", b) }},
	}
	for _, builtin := range slices.Sorted(maps.Keys(DeniedBuiltins)) {
		for _, shape := range shapes {
			t.Run(builtin+" "+shape.name+" is an error naming file, line and builtin", func(t *testing.T) {
				src := "package team\n\ndeny contains \"no\" if {\n" + shape.body(builtin) + "}\n"
				_, err := New(context.Background(), Options{Policies: []Source{repoSource(map[string]string{"team.rego": src})}})
				wantPolicyError(t, err, fmt.Sprintf("policies/team.rego:4: builtin %s is not allowed in policies", builtin))
			})
		}
	}
	for _, tc := range []struct{ name, body, builtin string }{
		{"a with replacement of a denied builtin in a Rego test", "test_mock if {\n\ttrue with http.send as {\"status_code\": 200}\n}\n", "http.send"},
		{"a Rego unit test calling a denied builtin", "test_env if {\n\topa.runtime().env.HOME != \"\"\n}\n", "opa.runtime"},
	} {
		t.Run(tc.name+" is refused by policy test", func(t *testing.T) {
			src := "package team_test\n\n" + tc.body
			_, err := RunTests(context.Background(), Options{Policies: []Source{repoSource(map[string]string{"team_test.rego": src})}})
			wantError(t, err, "policies/team_test.rego:4: builtin "+tc.builtin+" is not allowed in policies")
		})
	}
}

// TestSandboxCompilerRefusesDeniedBuiltins checks the enforcement itself:
// even without the friendlier check, the sandbox's compiler does not know
// the denied builtins.
func TestSandboxCompilerRefusesDeniedBuiltins(t *testing.T) {
	for _, builtin := range slices.Sorted(maps.Keys(DeniedBuiltins)) {
		t.Run(builtin+" is an undefined function", func(t *testing.T) {
			m, err := ast.ParseModuleWithOpts("p.rego", "package p\n\nx := "+builtin+"({})\n", ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = compile(map[string]*ast.Module{"p.rego": m})
			wantError(t, err, "p.rego:3: rego_type_error: undefined function "+builtin)
		})
	}
}

// allowedNondeterministic are the builtins OPA marks nondeterministic that
// policies may still call, and why (see DeniedBuiltins).
var allowedNondeterministic = map[string]string{
	"time.now_ns":            "dates, e.g. exception expiry",
	"io.jwt.decode_verify":   "checks the time; keys come from the caller, nothing is fetched",
	"io.jwt.encode_sign":     "ECDSA signatures are random; no I/O",
	"io.jwt.encode_sign_raw": "ECDSA signatures are random; no I/O",
}

func TestEveryNondeterministicBuiltinIsDecidedOn(t *testing.T) {
	// A new OPA version adding a builtin that reaches outside (OPA marks
	// those nondeterministic) fails here until it is denied or allowed.
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if !b.Nondeterministic {
			continue
		}
		_, denied := DeniedBuiltins[b.Name]
		_, allowed := allowedNondeterministic[b.Name]
		if denied == allowed {
			t.Errorf("builtin %s is nondeterministic: deny it (DeniedBuiltins) or allow it (allowedNondeterministic), not both or neither", b.Name)
		}
	}
	allowed := AllowedBuiltins()
	for name := range DeniedBuiltins {
		if slices.Contains(allowed, name) {
			t.Errorf("AllowedBuiltins lists denied builtin %s", name)
		}
	}
	for _, name := range []string{"net.cidr_contains", "time.now_ns", "regex.match", "crypto.x509.parse_certificates", "print", "trace"} {
		if !slices.Contains(allowed, name) {
			t.Errorf("AllowedBuiltins leaves out %s, a pure builtin", name)
		}
	}
	if caps := sandboxCapabilities(); caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("allow_net is %v, want [] (no host)", caps.AllowNet)
	}
}

// loopPolicy never ends in practice: 10^12 iterations that keep nothing.
const loopPolicy = `package team

deny contains "never" if {
	input.kind == "VirtualService"
	some a in numbers.range(1, 1000000)
	some b in numbers.range(1, 1000000)
	a * b == -1
}
`

func TestEvaluationHasATimeBudget(t *testing.T) {
	tests := []struct {
		name   string
		policy string
	}{
		{"a loop over a huge cross product", loopPolicy},
		{"a comprehension over a huge cross product", `package team

deny contains msg if {
	input.kind == "VirtualService"
	n := count({x | some a in numbers.range(1, 1000000); some b in numbers.range(1, 1000000); x := a * b})
	msg := sprintf("%d", [n])
}
`},
		{"an index rule over a huge range", `package meshintent.index

big := count([x | some x in numbers.range(1, 1000000000000)])
`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is stopped by the budget with a PolicyError", func(t *testing.T) {
			const budget = 300 * time.Millisecond
			e := newEngine(t, Options{Timeout: budget, Policies: []Source{repoSource(map[string]string{"team.rego": tt.policy})}})
			start := time.Now()
			_, err := e.Evaluate(context.Background(), bookinfo())
			elapsed := time.Since(start)
			wantPolicyError(t, err, "longer than its budget of 300ms")
			if elapsed > 5*time.Second {
				t.Errorf("the evaluation took %s, want it stopped soon after the budget of %s", elapsed, budget)
			}
		})
	}
	t.Run("a cancelled caller gets its own error, not a PolicyError", func(t *testing.T) {
		e := newEngine(t, Options{Timeout: time.Minute, Policies: []Source{repoSource(map[string]string{"team.rego": loopPolicy})}})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := e.Evaluate(ctx, bookinfo())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the caller's deadline", err)
		}
		if _, ok := errors.AsType[*PolicyError](err); ok {
			t.Errorf("error %v is a *PolicyError", err)
		}
	})
	t.Run("a Rego unit test that loops fails within the budget", func(t *testing.T) {
		test := "package team_test\n\nimport data.team\n\ntest_loop if {\n\tcount(team.deny) == 0 with input as {\"kind\": \"VirtualService\"}\n}\n"
		start := time.Now()
		results, err := RunTests(context.Background(), Options{Timeout: 300 * time.Millisecond,
			Policies: []Source{repoSource(map[string]string{"team.rego": loopPolicy, "team_test.rego": test})}})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, r := range results {
			if r.Name == "test_loop" {
				found = true
				if r.Pass {
					t.Error("the looping test passed")
				}
			}
		}
		if !found {
			t.Error("no result for test_loop")
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("policy test took %s", elapsed)
		}
	})
}

func TestPolicyFilesAreBounded(t *testing.T) {
	big := "meshintent:\n  config:\n    blob: \"" + strings.Repeat("x", 5<<20) + "\"\n"
	tests := []struct {
		name  string
		opts  Options
		files map[string]string
		want  string
	}{
		{
			name:  "a data file over the default 4 MiB is refused",
			files: map[string]string{"data.yaml": big},
			want:  "reading data policies/data.yaml: the file is 5.0 MiB, more than the limit of 4.0 MiB",
		},
		{
			name:  "a policy over the file limit is refused",
			opts:  Options{MaxFileSize: 1024},
			files: map[string]string{"team.rego": "package team\n\n# " + strings.Repeat("x", 2000) + "\n"},
			want:  "reading policy policies/team.rego: the file is 2017 bytes, more than the limit of 1024 bytes",
		},
		{
			name:  "data files over the total data limit are refused",
			opts:  Options{MaxDataSize: 3 << 20},
			files: map[string]string{"a/data.yaml": "a: \"" + strings.Repeat("x", 2<<20) + "\"\n", "b/data.yaml": "b: \"" + strings.Repeat("x", 2<<20) + "\"\n"},
			want:  "reading data policies/b/data.yaml: the data files hold more than the limit of 3.0 MiB in all",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Policies = []Source{repoSource(tt.files)}
			_, err := New(context.Background(), opts)
			wantPolicyError(t, err, tt.want)
		})
	}
	t.Run("an input over the input limit is refused", func(t *testing.T) {
		e := newEngine(t, Options{MaxInputSize: 1000})
		_, err := e.Evaluate(context.Background(), bookinfo())
		wantPolicyError(t, err, "the policy input is more than the limit of 1000 bytes")
	})
	t.Run("the default limits take the bookinfo example", func(t *testing.T) {
		e := newEngine(t, Options{})
		if _, err := e.Evaluate(context.Background(), bookinfo()); err != nil {
			t.Fatal(err)
		}
	})
}

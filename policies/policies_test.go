package policies_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/pkg/validate"
	"github.com/meshintent/meshintent/policies"
)

// TestRego runs the Rego unit tests of the built-in policies, so that
// `go test ./policies/` checks a policy change on its own.
func TestRego(t *testing.T) {
	results, err := validate.RunTests(t.Context(), validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(r.Package+"."+r.Name, func(t *testing.T) {
			if r.Skip {
				t.Skip("todo test")
			}
			if !r.Pass {
				t.Errorf("%s:%d failed %s\n%s", r.File, r.Line, r.Error, r.Output)
			}
		})
	}
}

// TestEveryPolicyHasTests checks that each policy file has a _test.rego.
func TestEveryPolicyHasTests(t *testing.T) {
	names, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, n := range names {
		files[n] = true
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.rego") {
			continue
		}
		if test := strings.TrimSuffix(n, ".rego") + "_test.rego"; !files[test] {
			t.Errorf("%s has no %s", n, test)
		}
	}
}

package validate

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuiltinRegoTests runs the Rego unit tests of the built-in policies
// (policies/*_test.rego): a failing Rego test fails go test.
func TestBuiltinRegoTests(t *testing.T) {
	results, err := RunTests(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Rego tests found")
	}
	for _, r := range results {
		t.Run(r.Package+"."+r.Name, func(t *testing.T) {
			if r.Skip {
				t.Skipf("%s:%d is a todo test", r.File, r.Line)
			}
			if !r.Pass {
				t.Errorf("%s:%d failed %s\n%s", r.File, r.Line, r.Error, r.Output)
			}
		})
	}
}

// TestBuiltinPoliciesAreTestedBothWays checks that every built-in package
// with deny or warn rules has a Rego test that expects them to allow
// (test_allows_…) and one that expects them to deny or warn.
func TestBuiltinPoliciesAreTestedBothWays(t *testing.T) {
	e := newEngine(t, Options{})
	results, err := RunTests(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	allows, denies := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.Name, "test_allows_"):
			allows[r.Package] = true
		case strings.HasPrefix(r.Name, "test_denies_"), strings.HasPrefix(r.Name, "test_warns_"):
			denies[r.Package] = true
		}
	}
	packages := map[string]bool{}
	for _, q := range append(slices.Collect(maps.Values(e.byKind)), e.other) {
		if q == nil {
			continue
		}
		for _, r := range q.rules {
			packages[r.pkg] = true
		}
	}
	if len(packages) < 10 {
		t.Fatalf("found %d built-in policy packages, want at least 10", len(packages))
	}
	for pkg := range packages {
		if !allows[pkg] || !denies[pkg] {
			t.Errorf("%s: has a test_allows_ test: %v, a test_denies_/test_warns_ test: %v", pkg, allows[pkg], denies[pkg])
		}
	}
}

func TestRunTestsReportsEachTest(t *testing.T) {
	results, err := RunTests(context.Background(), Options{Policies: []Source{Dir("testdata/rego-tests")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []TestResult
	for _, r := range results {
		if r.Package == "team.checks" {
			r.Duration = 0
			got = append(got, r)
		}
	}
	want := []TestResult{
		{Package: "team.checks", Name: "test_passes", File: "testdata/rego-tests/checks_test.rego", Line: 3, Pass: true},
		{Package: "team.checks", Name: "test_fails", File: "testdata/rego-tests/checks_test.rego", Line: 7},
		{Package: "team.checks", Name: "todo_test_later", File: "testdata/rego-tests/checks_test.rego", Line: 11, Skip: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("test results (-want +got):\n%s", diff)
	}
}

func TestRunTestsUsesTheRepositoryData(t *testing.T) {
	results, err := RunTests(context.Background(), Options{Policies: []Source{Dir("testdata/repo-policies")}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range results {
		if r.Package == "team.tracing" {
			n++
			if !r.Pass {
				t.Errorf("%s failed: %s", r.Name, r.Error)
			}
		}
	}
	if n != 2 {
		t.Errorf("ran %d tests of team.tracing, want 2", n)
	}
}

func TestRunTestsRefusesBrokenPolicies(t *testing.T) {
	_, err := RunTests(context.Background(), Options{Policies: []Source{Dir("testdata/broken-compile")}})
	wantError(t, err, "testdata/broken-compile/bad.rego:7")
}

package validate

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego unit test: a rule named test_… (or
// todo_…, which is skipped) in a *_test.rego file.
type TestResult struct {
	// Package is the test's package without "data.", e.g. "meshintent.weights".
	Package string
	// Name is the test rule's name, e.g. "test_denies_weights_not_summing_to_100".
	Name string
	// File and Line locate the test, e.g. "builtin/weights_test.rego".
	File string
	Line int
	// Pass is true when the test succeeded; Skip when it is a todo_ test.
	Pass, Skip bool
	// Error is the evaluation error, if any (a failed assertion is not one).
	Error string
	// Output is what the test printed with print().
	Output   string
	Duration time.Duration
}

// RunTests runs the Rego unit tests of the built-in policies and of
// opts.Policies, with the same data the gate uses (the data files merged with
// opts.Data), and returns one result per test sorted by file and line. A
// policy or test that does not parse or compile is an error naming the file.
// It serves `reconciler policy test [dir]`.
//
// Tests run in the gate's sandbox (see DeniedBuiltins; a call of a denied
// builtin is a *PolicyError), each test with opts.Timeout as its budget:
// a test that overruns it fails.
func RunTests(ctx context.Context, opts Options) ([]TestResult, error) {
	lim := opts.limits()
	b, err := load(opts.Policies, opts.Data, lim)
	if err != nil {
		return nil, policyError(err)
	}
	modules := maps.Clone(b.modules)
	maps.Copy(modules, b.tests)
	if err := checkSandbox(modules); err != nil {
		return nil, policyError(err)
	}

	ch, err := tester.NewRunner().
		SetCompiler(newCompiler().WithEnablePrintStatements(true)).
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(newStore(b.data)).
		SetModules(modules).
		SetTimeout(lim.timeout).
		CapturePrintOutput(true).
		RunTests(ctx, nil)
	if err != nil {
		return nil, policyError(fmt.Errorf("compiling policies and tests: %w", err))
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{
			Package:  strings.TrimPrefix(r.Package, "data."),
			Name:     r.Name,
			Pass:     r.Pass(),
			Skip:     r.Skip,
			Output:   string(r.Output),
			Duration: r.Duration,
		}
		if r.Location != nil {
			tr.File, tr.Line = r.Location.File, r.Location.Row
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		out = append(out, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

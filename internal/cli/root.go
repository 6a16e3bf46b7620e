// Package cli is the reconciler command line: render, validate, plan, policy
// test, schema, apply and diff. main only wires it to the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	// ExitOK: valid, in sync, applied.
	ExitOK = 0
	// ExitDenied: a deny policy matched (validate, plan, apply) or drift was found (diff).
	ExitDenied = 1
	// ExitError: bad input, a fetch failure or any other error.
	ExitError = 2
)

// exitError carries an exit code through cobra. A nil err means the command
// already told the user what happened and only the code is left.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// denied makes a command exit 1 without a further message.
func denied() error { return &exitError{code: ExitDenied} }

// app is the state the commands share: where they write.
type app struct {
	stdout io.Writer
	stderr io.Writer
}

// Run executes the command line args (without the program name) and returns
// the process exit code. Errors are printed to stderr, one line each.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stderr, ee.err)
		}
		return ee.code
	}
	printError(stderr, err)
	return ExitError
}

// printError writes an error as readable lines: a multi-error (errors.Join)
// gets one line per error.
func printError(w io.Writer, err error) {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.Unwrap() {
			printError(w, e)
		}
		return
	}
	fmt.Fprintf(w, "error: %s\n", oneLine(strings.TrimSpace(err.Error())))
}

// lineBreaks escapes what would start a new output line. Errors and policy
// messages quote text from repositories (names, kinds, regexes): escaped, it
// can never print a line of its own, such as a forged "error:" or "DENY".
var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`)

// oneLine returns s with line breaks escaped.
func oneLine(s string) string { return lineBreaks.Replace(s) }

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "reconciler",
		Short: "GitOps policy reconciler for the Istio service mesh",
		Long: `reconciler turns mesh intents kept in Git (NamespaceIntent, ServiceIntent)
into Istio resources, checks them against policies and applies them.

Exit codes: 0 valid or in sync, 1 denied by policy or drifted, 2 bad input or failure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRenderCommand(a),
		newValidateCommand(a),
		newPlanCommand(a),
		newPolicyCommand(a),
		newSchemaCommand(a),
		newApplyCommand(a),
		newDiffCommand(a),
		newRunCommand(a),
		newImportCommand(a),
		newReportCommand(a),
	)
	return root
}

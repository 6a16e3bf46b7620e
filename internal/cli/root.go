// Package cli is the reconciler command line: render, validate, plan, policy
// test, schema, apply and diff. main only wires it to the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshintent/meshintent/pkg/termsafe"
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

// app is the state the commands share: where they write and how.
type app struct {
	// stdout and stderr are the streams; once flags are parsed, a stream
	// that gets colour is wrapped in a styledWriter (see styleOf).
	stdout io.Writer
	stderr io.Writer
	// getenv reads the environment (NO_COLOR, CI, TERM).
	getenv envGetter
	// isTerminal tells whether a stream is a terminal.
	isTerminal func(io.Writer) bool
	// noColor is --no-color.
	noColor bool
	// progress draws the progress line on stderr (off unless stderr is an
	// interactive terminal).
	progress *progress
}

// Run executes the command line args (without the program name) and returns
// the process exit code. Errors are printed to stderr, one line each.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv, isTerminal: isTerminal}
	return a.run(ctx, args)
}

// run executes args with the streams and environment of a.
func (a *app) run(ctx context.Context, args []string) int {
	stderr := a.stderr
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
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

// oneLine returns s for one line of a terminal, with line breaks, control
// characters (ESC, BEL, backspace…) and bidirectional overrides escaped
// visibly (see termsafe.Line). Errors and policy messages quote text from
// repositories (names, kinds, regexes): escaped, it can never print a line
// of its own, such as a forged "error:" or "DENY", nor drive the terminal.
func oneLine(s string) string { return termsafe.Line(s) }

// configure decides, once the flags are parsed, how the streams are
// decorated: colour per stream (see colorEnabled) and the progress line on
// stderr (see interactive). A command's context carries the progress line to
// the code doing long work (see startProgress).
func (a *app) configure(cmd *cobra.Command) {
	outTTY, errTTY := a.isTerminal(a.stdout), a.isTerminal(a.stderr)
	if colorEnabled(outTTY, a.noColor, a.getenv) {
		a.stdout = &styledWriter{Writer: a.stdout}
	}
	if colorEnabled(errTTY, a.noColor, a.getenv) {
		a.stderr = &styledWriter{Writer: a.stderr}
	}
	a.progress = &progress{w: a.stderr, enabled: interactive(errTTY, a.getenv), delay: time.Second, every: 100 * time.Millisecond}
	cmd.SetContext(withProgress(cmd.Context(), a.progress))
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "reconciler",
		Short: "GitOps policy reconciler for the Istio service mesh",
		Long: `reconciler turns mesh intents kept in Git (NamespaceIntent, ServiceIntent)
into Istio resources, checks them against policies and applies them.

Colour and the progress line are for terminals only: never when output is
piped, in CI ($CI set), with TERM=dumb, $NO_COLOR or --no-color.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			a.configure(cmd)
		},
	}
	root.PersistentFlags().BoolVar(&a.noColor, "no-color", false, "no colour in the output (also: $NO_COLOR, $CI, TERM=dumb, or output that is not a terminal)")
	// Cobra answers a flag error with the bare error; keep it an exit 2
	// with a hint, like every other usage error.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
	})
	root.SetUsageFunc(writeUsage)
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
		newVersionCommand(a),
		newUICommand(a),
		newStatusCommand(a),
	)
	// Add cobra's own help and completion commands now rather than at
	// Execute, so that they get the exit-code block like every other.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	documentExitCodes(root)
	return root
}

// exitClass is one documented exit code of a command.
type exitClass struct {
	code    int
	meaning string
}

// exitBadInput is the class every command shares.
var exitBadInput = exitClass{ExitError, "bad input or failure: an unknown flag, command or argument, unreadable or invalid input, a Git, render or API error"}

// exitClasses lists the exit codes of each command, by command path without
// the program name. A command missing here fails TestHelpListsExitCodes.
func exitClasses() map[string][]exitClass {
	ok := func(meaning string) exitClass { return exitClass{ExitOK, meaning} }
	one := func(meaning string) exitClass { return exitClass{ExitDenied, meaning} }
	return map[string][]exitClass{
		"":            {ok("success"), one("denied by policy, drifted, failing tests or report findings (see each command)"), exitBadInput},
		"render":      {ok("rendered"), exitBadInput},
		"validate":    {ok("valid: no deny policy matched"), one("denied: a deny policy matched"), exitBadInput},
		"plan":        {ok("head passes the policy gate"), one("denied: a deny policy matched in head"), exitBadInput},
		"policy":      {ok("help printed"), exitBadInput},
		"policy test": {ok("every test passed"), one("a test failed"), exitBadInput},
		"schema":      {ok("schema printed"), exitBadInput},
		"apply":       {ok("applied (with --dry-run: dry-run done)"), one("denied by policy: nothing applied"), exitBadInput},
		"diff":        {ok("in sync"), one("drift: drifted fields, missing, unmanaged or stale objects"), exitBadInput},
		"run":         {ok("stopped by a signal and shut down cleanly"), exitBadInput},
		"import":      {ok("imported"), exitBadInput},
		"report":      {ok("clean: no drift and no conflicts"), one("findings: drift, missing, unmanaged or stale objects, or conflicts"), exitBadInput},
		"version":     {ok("version printed"), exitBadInput},
		"ui":          {ok("stopped by a signal and shut down cleanly"), exitBadInput},
		"status":      {ok("printed, every IntentSync shown Ready (with -w: stopped by a signal)"), one("an IntentSync shown is not Ready: failing, drifted, suspended or not reconciled yet"), exitBadInput},
		"help":        {ok("help printed"), exitBadInput},
	}
}

// documentExitCodes ends the long help of every command under root with the
// same "Exit codes:" block. Commands cobra generates (completion and its
// shells) get the plain success class.
func documentExitCodes(root *cobra.Command) {
	table := exitClasses()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		classes, ok := table[path]
		if !ok && (path == "completion" || strings.HasPrefix(path, "completion ")) {
			classes, ok = []exitClass{{ExitOK, "script printed"}, exitBadInput}, true
		}
		if ok {
			long := c.Long
			if long == "" {
				long = c.Short
			}
			c.Long = strings.TrimRight(long, "\n") + "\n\n" + exitCodesBlock(classes)
		}
		if !c.Runnable() && c.HasSubCommands() {
			// A command group (policy) would print its help and exit 0 for
			// any argument, a typo of a subcommand included: refuse those.
			c.Args = cobra.NoArgs
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// exitCodesBlock formats classes for --help.
func exitCodesBlock(classes []exitClass) string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, c := range classes {
		fmt.Fprintf(&b, "\n  %d  %s", c.code, c.meaning)
	}
	return b.String()
}

// writeUsage is cobra's usage text with one change: boolean flags show as
// "--prune", not "--prune[=true|false]" as pflag ≥ 1.0.8 prints them (pulled
// in by OPA); they are switches that people rarely give a value. Everything
// else is cobra's default layout.
func writeUsage(c *cobra.Command) error {
	var b strings.Builder
	b.WriteString("Usage:")
	if c.Runnable() {
		fmt.Fprintf(&b, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n  %s [command]", c.CommandPath())
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "\n\nAliases:\n  %s", c.NameAndAliases())
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\nAvailable Commands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s %s", sub.NamePadding(), sub.Name(), sub.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(&b, "\n\nFlags:\n%s", strings.TrimRight(flagUsages(c.LocalFlags()), " \n"))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(&b, "\n\nGlobal Flags:\n%s", strings.TrimRight(flagUsages(c.InheritedFlags()), " \n"))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.OutOrStderr(), b.String())
	return err
}

// flagUsages formats fs as pflag does, but shows boolean flags without
// "[=true|false]": it formats a copy of the set whose boolean values do not
// announce themselves as such (plainBool), which is the one thing pflag's
// formatter tests for that marker. Parsing never sees the copy.
func flagUsages(fs *pflag.FlagSet) string {
	shown := pflag.NewFlagSet("", pflag.ContinueOnError)
	shown.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		c := *f
		if f.Value.Type() == "bool" && f.NoOptDefVal == "true" {
			c.Value = plainBool{f.Value}
		}
		shown.AddFlag(&c)
	})
	return shown.FlagUsages()
}

// plainBool is a bool flag value without the IsBoolFlag method.
type plainBool struct{ v pflag.Value }

func (p plainBool) String() string     { return p.v.String() }
func (p plainBool) Set(s string) error { return p.v.Set(s) }
func (p plainBool) Type() string       { return p.v.Type() }

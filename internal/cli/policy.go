package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/validate"
)

func newPolicyCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with Rego policies",
	}
	cmd.AddCommand(newPolicyTestCommand(a))
	return cmd
}

func newPolicyTestCommand(a *app) *cobra.Command {
	var (
		verbose bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego unit tests (test_ rules) of the built-in policies and of DIRs",
		Example: `  reconciler policy test
  reconciler policy test examples/repo/policies`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var sources []validate.Source
			for _, d := range args {
				sources = append(sources, validate.Dir(d))
			}
			results, err := validate.RunTests(cmd.Context(), validate.Options{Policies: sources, Timeout: timeout})
			if err != nil {
				return err
			}
			st := styleOf(a.stdout)
			var b strings.Builder
			var pass, fail, skip int
			for _, r := range results {
				status := "PASS"
				switch {
				case r.Skip:
					status, skip = "SKIP", skip+1
				case r.Pass:
					pass++
				default:
					status, fail = "FAIL", fail+1
				}
				if status == "PASS" && !verbose {
					continue
				}
				fmt.Fprintf(&b, "%s %s:%d %s.%s", st.testStatus(status), r.File, r.Line, r.Package, r.Name)
				if r.Error != "" {
					fmt.Fprintf(&b, ": %s", r.Error)
				}
				b.WriteString("\n")
				if r.Output != "" && status == "FAIL" {
					b.WriteString(indent(r.Output, "    "))
				}
			}
			fmt.Fprintf(&b, "policy tests: %d ok, %d failing, %d skipped\n", pass, fail, skip)
			if _, err := a.stdout.Write([]byte(b.String())); err != nil {
				return err
			}
			if fail > 0 {
				return denied()
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing tests too")
	cmd.Flags().DurationVar(&timeout, "policy-timeout", validate.DefaultTimeout, "time budget of each test: a test running longer fails")
	return cmd
}

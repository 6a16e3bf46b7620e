package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/render/rootfs"
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
				src, err := confinedPolicyDir(d)
				if err != nil {
					return err
				}
				sources = append(sources, src)
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

// confinedPolicyDir is the policy source of dir, named as given, read
// through the root-confined file system of its repository (the nearest
// ancestor holding meshintent.yaml or .git, else dir itself): a policy
// repository's tests read nothing outside it, as its gate does not.
func confinedPolicyDir(dir string) (validate.Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return validate.Source{}, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return validate.Source{}, fmt.Errorf("policy directory %s: not a directory", dir)
	}
	root := findRoot(abs)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return validate.Source{}, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	fsys, err := rootfs.New(root, filepath.ToSlash(rel), validate.DefaultMaxFileSize)
	if err != nil {
		return validate.Source{}, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	return validate.Source{Name: filepath.ToSlash(filepath.Clean(dir)), FS: fsys}, nil
}

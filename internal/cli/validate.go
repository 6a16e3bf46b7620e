package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/validate"
)

func newValidateCommand(a *app) *cobra.Command {
	var (
		in     inputFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Render the intents and run the policy gate: exit 1 when a deny policy matches",
		Example: `  reconciler validate examples/repo/overlays/prod
  reconciler validate --repo file:///srv/mesh.git --ref v1.4.0 --path overlays/staging -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			t, err := in.resolve(cmd.Context(), args)
			if err != nil {
				return err
			}
			out, err := in.build(cmd.Context(), t, true)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				err = writeJSON(a.stdout, validationJSON{
					Revision: t.Revision, Path: t.Path,
					Objects: out.Report.Objects, Intents: out.Report.Intents,
					Denied: out.Report.Denied(), Denials: out.Report.Denials, Warnings: out.Report.Warnings,
					Results: resultsJSON(out.Report.Results),
				})
			default:
				err = writeResultsText(a.stdout, out.Report)
			}
			if err != nil {
				return err
			}
			if out.Report.Denied() {
				return denied()
			}
			return nil
		},
	}
	in.register(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func checkOutput(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return usageError(fmt.Errorf("--output %q: use one of %s", got, strings.Join(allowed, ", ")))
}

// validationJSON is the JSON form of a validate run.
type validationJSON struct {
	Revision string       `json:"revision"`
	Path     string       `json:"path"`
	Objects  int          `json:"objects"`
	Intents  int          `json:"intents"`
	Denied   bool         `json:"denied"`
	Denials  int          `json:"denials"`
	Warnings int          `json:"warnings"`
	Results  []resultJSON `json:"results"`
}

// resultJSON is the JSON form of one policy result.
type resultJSON struct {
	Severity   string `json:"severity"`
	Policy     string `json:"policy"`
	Rule       string `json:"rule"`
	PolicyFile string `json:"policyFile,omitempty"`
	Object     string `json:"object"`
	Source     string `json:"source,omitempty"`
	Line       int    `json:"line,omitempty"`
	Field      string `json:"field,omitempty"`
	Message    string `json:"message"`
}

func resultsJSON(rs []validate.Result) []resultJSON {
	out := make([]resultJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, resultJSON{
			Severity: string(r.Severity), Policy: r.Policy, Rule: r.Rule, PolicyFile: r.PolicyFile,
			Object: r.Object, Source: r.Source, Line: r.Line, Field: r.Field, Message: r.Message,
		})
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// location is "file:line" or "file", for people.
func location(r validate.Result) string {
	switch {
	case r.Source == "":
		return ""
	case r.Line > 0:
		return fmt.Sprintf("%s:%d", r.Source, r.Line)
	default:
		return r.Source
	}
}

// writeResultsText prints one line per result and a summary line, e.g.
//
//	DENY base/reviews.yaml: VirtualService/bookinfo/reviews spec.http[0].route: weights sum to 90, not 100 [meshintent.weights]
func writeResultsText(w io.Writer, rep *validate.Report) error {
	var b strings.Builder
	for _, r := range rep.Results {
		var line strings.Builder
		line.WriteString(strings.ToUpper(string(r.Severity)))
		line.WriteString(" ")
		if loc := location(r); loc != "" {
			line.WriteString(loc + ": ")
		}
		line.WriteString(r.Object)
		if r.Field != "" {
			line.WriteString(" " + r.Field)
		}
		fmt.Fprintf(&line, ": %s [%s]", r.Message, r.Policy)
		b.WriteString(oneLine(line.String()) + "\n")
	}
	verdict := "valid"
	if rep.Denied() {
		verdict = "denied"
	}
	fmt.Fprintf(&b, "%s: %d objects from %d intents, %d denied, %d warnings\n",
		verdict, rep.Objects, rep.Intents, rep.Denials, rep.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

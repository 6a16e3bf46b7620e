package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/output"
	"github.com/meshintent/meshintent/pkg/validate"
)

func newValidateCommand(a *app) *cobra.Command {
	var (
		in  inputFlags
		out outputFlags
		cl  clusterFlags
	)
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Render the intents and run the policy gate: exit 1 when a deny policy matches",
		Example: `  reconciler validate examples/repo/overlays/prod
  reconciler validate --repo file:///srv/mesh.git --ref v1.4.0 --path overlays/staging -o json
  reconciler validate overlays/prod -o github              # annotations on the intent lines of a pull request
  reconciler validate overlays/prod -o sarif > policy.sarif  # for code scanning`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out.format, validateFormats...); err != nil {
				return err
			}
			t, err := in.resolve(cmd.Context(), args)
			if err != nil {
				return err
			}
			dataFor, skipped, err := liveChecks(cmd, &cl, out.format)
			if err != nil {
				return err
			}
			built, err := in.buildLive(cmd.Context(), t, true, dataFor)
			if err != nil {
				return err
			}
			if skipped != "" {
				fmt.Fprintln(a.stderr, skipped)
			}
			// A revision's tree knows its root's place in the repository;
			// a directory read as it is finds it from the work tree.
			prefix := t.Prefix
			if in.repo == "" && in.ref == "" {
				prefix = workTreePrefix(t.Root)
			}
			err = out.write(a.stdout, func(w io.Writer, full bool) error {
				if out.format == "text" {
					return writeResultsText(w, built.Report)
				}
				return output.WriteValidation(w, output.Format(out.format),
					output.Validation{Revision: t.Revision, Path: t.Path, Report: built.Report},
					outputOptions(t.Root, prefix, built.Report, full))
			})
			if err != nil {
				return err
			}
			if built.Report.Denied() {
				return denied()
			}
			return nil
		},
	}
	in.register(cmd, true)
	out.register(cmd, validateFormats)
	registerLiveFlags(cmd, &cl)
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

// validateFormats are the formats of validate (see package output).
var validateFormats = []string{"text", "json", "markdown", "github", "sarif", "junit"}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// location is "file:line" or "file", for people, followed by the overlay
// patches that set the field: "base/reviews.yaml:52 (set by
// overlays/prod/reviews.yaml:9)".
func location(r validate.Result) string {
	locs := output.Locations(r)
	if len(locs) == 0 {
		return ""
	}
	s := output.Where(locs[0])
	if len(locs) > 1 {
		var by []string
		for _, l := range locs[1:] {
			by = append(by, output.Where(l))
		}
		s += " (set by " + strings.Join(by, ", ") + ")"
	}
	return s
}

// writeResultsText prints one line per result and a summary line, e.g.
//
//	DENY base/reviews.yaml: VirtualService/bookinfo/reviews spec.http[0].route: weights sum to 90, not 100 [meshintent.weights]
func writeResultsText(w io.Writer, rep *validate.Report) error {
	st := styleOf(w)
	var b strings.Builder
	for _, r := range rep.Results {
		var line strings.Builder
		if loc := location(r); loc != "" {
			line.WriteString(loc + ": ")
		}
		line.WriteString(r.Object)
		if r.Field != "" {
			line.WriteString(" " + r.Field)
		}
		fmt.Fprintf(&line, ": %s [%s]", r.Message, r.Policy)
		if r.Code != "" {
			fmt.Fprintf(&line, " [%s]", r.Code)
		}
		if w := r.Waived; w != nil {
			line.WriteString(" " + waiverText(w))
		}
		b.WriteString(st.severity(strings.ToUpper(string(r.Severity))) + " " + oneLine(line.String()) + "\n")
	}
	verdict := st.good("valid")
	if rep.Denied() {
		verdict = st.bad("denied")
	}
	fmt.Fprintf(&b, "%s: %s from %s, %d denied, %s", verdict,
		plural(rep.Objects, "object", "objects"), plural(rep.Intents, "intent", "intents"),
		rep.Denials, plural(rep.Warnings, "warning", "warnings"))
	if rep.Waived > 0 {
		fmt.Fprintf(&b, ", %d waived", rep.Waived)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// waiverText says why a result is waived, e.g. "(waived until 2026-06-30
// by meshintent.yaml:12: load test, TICKET-123)".
func waiverText(w *validate.Waiver) string {
	s := "(waived"
	if !w.Expires.IsZero() {
		s += " until " + w.Expires.UTC().Format(time.DateOnly)
	}
	if w.By != "" {
		s += " by " + w.By
	}
	return s + ": " + w.Reason + ")"
}

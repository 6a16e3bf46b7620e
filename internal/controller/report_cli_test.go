package controller_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/pkg/report"
)

// runCLI runs the reconciler command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func decodeReport(t *testing.T, out string) *report.Report {
	t.Helper()
	r := &report.Report{}
	if err := json.Unmarshal([]byte(out), r); err != nil {
		t.Fatalf("decoding the report: %v\n%s", err, out)
	}
	return r
}

// TestReportCommand runs `reconciler report` against the cluster the
// controller reported on and compares the findings with the stored report.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	sc := controller.NewDriftScenario(t, false)
	controller.SetDriftReport(t, sc.Obj, &v1alpha1.DriftReportSpec{Schedule: "@every 2s"})
	_, stored := controller.WaitReport(t, sc.Obj, 30*time.Second, controller.HasAllFindings)
	kubeconfig := controller.Kubeconfig(t)
	cache := t.TempDir()

	t.Run("report --intentsync prints the stored report's findings and exits 1", func(t *testing.T) {
		code, out, stderr := runCLI(t, "report", "--intentsync", sc.NS+"/mesh", "--kubeconfig", kubeconfig, "--cache-dir", cache, "-o", "json")
		if code != cli.ExitDenied {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
		}
		got := decodeReport(t, out)
		if diff := cmp.Diff(stored, got, cmpopts.IgnoreFields(report.Report{}, "GeneratedAt", "ConfigMap")); diff != "" {
			t.Errorf("CLI report against the stored one (-want +got):\n%s", diff)
		}
	})

	t.Run("the Markdown output has the same tables", func(t *testing.T) {
		code, out, stderr := runCLI(t, "report", "--intentsync", sc.NS+"/mesh", "--kubeconfig", kubeconfig, "--cache-dir", cache)
		if code != cli.ExitDenied {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
		}
		for _, want := range []string{
			"| `VirtualService/" + sc.NS + "/reviews` | `.spec.http[0].route[0].weight` | `80` | `50` | `kubectl-edit` |",
			"| `DestinationRule/" + sc.NS + "/ratings` | `ratings.yaml` |",
			"| `VirtualService/" + sc.NS + "/reviews-wizard` | ⚠ `request_routing` |",
			"| `VirtualService/" + sc.NS + "/reviews` | `.spec.http` | `kubectl-edit` |",
			"| Last applied revision | `" + sc.Revision + "` |",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("report --repo with the IntentSync's inventory finds the same drift", func(t *testing.T) {
		code, out, stderr := runCLI(t, "report", "--repo", sc.RepoURL, "--ref", "main", "--inventory", sc.NS+".mesh",
			"--kubeconfig", kubeconfig, "--cache-dir", cache, "-o", "json")
		if code != cli.ExitDenied {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
		}
		got := decodeReport(t, out)
		if diff := cmp.Diff(stored, got, cmpopts.IgnoreFields(report.Report{}, "GeneratedAt", "ConfigMap", "IntentSync", "AppliedAt")); diff != "" {
			t.Errorf("CLI report against the stored one (-want +got):\n%s", diff)
		}
	})

	t.Run("an IntentSync that does not exist exits 2", func(t *testing.T) {
		code, _, stderr := runCLI(t, "report", "--intentsync", sc.NS+"/nope", "--kubeconfig", kubeconfig, "--cache-dir", cache)
		if code != cli.ExitError || !strings.Contains(stderr, "reading IntentSync "+sc.NS+"/nope") {
			t.Errorf("exit %d, stderr %q; want 2 naming the IntentSync", code, stderr)
		}
	})

	t.Run("a clean IntentSync exits 0", func(t *testing.T) {
		clean := controller.NewDriftScenario(t, true)
		code, out, stderr := runCLI(t, "report", "--intentsync", clean.NS+"/mesh", "--kubeconfig", kubeconfig, "--cache-dir", cache)
		if code != cli.ExitOK {
			t.Fatalf("exit %d, want 0; stderr:\n%s\nstdout:\n%s", code, stderr, out)
		}
		if !strings.Contains(out, "**In sync**: the cluster matches revision `"+clean.Revision+"`") {
			t.Errorf("output:\n%s", out)
		}
	})
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestValidateShowsWaivedResults runs validate on the example with a
// repository policy denying the reviews VirtualService and an exception of
// meshintent.yaml waiving it: in force, the result shows as waived with its
// reason and the revision is valid; expired, it is a denial again.
func TestValidateShowsWaivedResults(t *testing.T) {
	const policy = "package team\n\ndeny_owner contains \"no owner label\" if {\n\tinput.kind == \"VirtualService\"\n\tinput.metadata.name == \"reviews\"\n}\n"
	tests := []struct {
		name     string
		expires  string
		wantCode int
		want     []string // lines of stdout, in order, as substrings
		json     string
	}{{
		name:     "an exception in force waives the denial",
		expires:  "2099-01-31",
		wantCode: ExitOK,
		want: []string{
			"WAIVED base/reviews.yaml",
			"VirtualService/bookinfo/reviews: no owner label [team] (waived until 2099-01-31 by meshintent.yaml:3: owned by the platform team)",
			"valid: ",
			", 1 waived",
		},
		json: `"severity": "waived"`,
	}, {
		name:     "an expired exception is a denial again, and a warning says so",
		expires:  "2020-01-31",
		wantCode: ExitDenied,
		want: []string{
			"DENY base/reviews.yaml",
			"VirtualService/bookinfo/reviews: no owner label [team]",
			"WARN meshintent.yaml:3: Exception/team: exception for team expired on 2020-01-31T23:59:59Z: its denials are back (reason was: owned by the platform team)",
			"denied: ",
		},
		json: `"severity": "deny"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			gitfixture.CopyTree(t, exampleRepo, dir)
			files := map[string]string{
				"policies/owner.rego": policy,
				"meshintent.yaml": "policies: [policies]\nexceptions:\n- policy: team\n  rule: deny_owner\n" +
					"  objects: [VirtualService/bookinfo/reviews]\n  reason: owned by the platform team\n  expires: " + tt.expires + "\n",
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := run(t, "validate", filepath.Join(dir, "overlays", "prod"))
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			rest := stdout
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, stdout)
				}
				rest = rest[i+len(w):]
			}
			_, jsonOut, _ := run(t, "validate", filepath.Join(dir, "overlays", "prod"), "-o", "json")
			wantContains(t, "JSON output", jsonOut, tt.json)
		})
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeverityInMeshintentYAML runs validate on a VirtualService with an
// unreachable rule (IST0130, meshintent.catchall: warn by default) under
// the severities of meshintent.yaml: deny makes it a denial (exit 1), off
// silences it, and a value other than deny, warn or off is refused naming
// the file's line.
func TestSeverityInMeshintentYAML(t *testing.T) {
	const unreachable = vsHeader + `metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews}}]
`
	tests := []struct {
		name       string
		config     string // meshintent.yaml; none when empty
		wantCode   int
		want       []finding
		wantStdout string // in the text output
		wantStderr string
	}{{
		name:     "by default the unreachable rule warns",
		wantCode: ExitOK,
		want:     []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
	}, {
		name:       "deny makes it a denial",
		config:     "severity:\n  meshintent.catchall: deny\n",
		wantCode:   ExitDenied,
		want:       []finding{{"deny", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
		wantStdout: "denied: ",
	}, {
		name:     "off silences it",
		config:   "severity:\n  meshintent.catchall: off\n",
		wantCode: ExitOK,
	}, {
		name:     "warn keeps it a warning",
		config:   "severity: {meshintent.catchall: warn}\n",
		wantCode: ExitOK,
		want:     []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
	}, {
		name:       "a misspelled policy is a warning, and changes nothing",
		config:     "severity:\n  meshintent.catchal: off\n",
		wantCode:   ExitOK,
		want:       []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
		wantStdout: "meshintent.yaml:2: Severity/meshintent.catchal: severity for policy meshintent.catchal changes nothing",
	}, {
		name:       "the tenancy fence cannot be turned off",
		config:     "severity:\n  meshintent.tenancy: off\n",
		wantCode:   ExitOK,
		want:       []finding{{"warn", "meshintent.catchall", "VirtualService/bookinfo/reviews", "IST0130"}},
		wantStdout: "severity off for policy meshintent.tenancy is ignored: the tenancy fence is set by the operator",
	}, {
		name:       "an unknown severity is refused, naming the line",
		config:     "policies: []\nseverity:\n  meshintent.catchall: error\n",
		wantCode:   ExitError,
		wantStderr: `meshintent.yaml:3: severity["meshintent.catchall"]: "error" is not a severity: use deny, warn or off`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRepo(t, map[string]string{"reviews.yaml": unreachable})
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "meshintent.yaml"), []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantCode == ExitError {
				code, _, stderr := run(t, "validate", dir)
				if code != tt.wantCode || !strings.Contains(stderr, tt.wantStderr) {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.wantCode, tt.wantStderr)
				}
				return
			}
			code, got := analyze(t, dir)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.wantStdout != "" {
				_, stdout, _ := run(t, "validate", dir)
				wantContains(t, "stdout", stdout, tt.wantStdout)
			}
		})
	}
}

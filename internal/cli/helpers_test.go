package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/output"
)

// run executes the CLI in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// exampleRepo is the path of examples/repo from this package.
const exampleRepo = "../../examples/repo"

// newExampleRepo makes a git repository whose first commit is examples/repo.
func newExampleRepo(t *testing.T) *gitfixture.Repo {
	t.Helper()
	return gitfixture.FromDir(t, exampleRepo, "bookinfo mesh")
}

// badWeightsVS returns testdata/mongodb-bad-weights.yaml: a hand-written
// VirtualService whose weights sum to 90 (policy meshintent.weights denies
// it) and its DestinationRule.
func badWeightsVS(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mongodb-bad-weights.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// addBadWeights writes badWeights (see badWeightsVS) to base/mongodb.yaml
// and lists it in the base kustomization.
func addBadWeights(r *gitfixture.Repo, badWeights string) {
	r.Write("base/mongodb.yaml", badWeights)
	r.Edit("base/kustomization.yaml", "- ratings.yaml", "- ratings.yaml\n- mongodb.yaml")
}

// runJSON runs the CLI with args, checks that it exits with code, and
// decodes its standard output, a JSON document, into a T.
func runJSON[T any](t *testing.T, code int, args ...string) T {
	t.Helper()
	got, stdout, stderr := run(t, args...)
	if got != code {
		t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, got, code, stdout, stderr)
	}
	return decodeJSON[T](t, stdout)
}

// decodeJSON decodes the JSON document the CLI wrote to stdout.
func decodeJSON[T any](t *testing.T, stdout string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("stdout is not the JSON document expected: %v\n%s", err, stdout)
	}
	return v
}

// planChanges runs plan with -o json, checks that its changes are want
// ("action id" per change; an empty list when nothing changes) and
// returns the whole result.
func planChanges(t *testing.T, want []string, args ...string) output.PlanResult {
	t.Helper()
	res := runJSON[output.PlanResult](t, ExitOK, append(append([]string{"plan"}, args...), "-o", "json")...)
	changes := []string{}
	for _, c := range res.Changes {
		changes = append(changes, string(c.Action)+" "+c.ID)
	}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("plan %q: changes (-want +got):\n%s", args, diff)
	}
	return res
}

// analyzerPolicies are the built-in policies modelled on the networking
// analyzers of istioctl analyze.
var analyzerPolicies = []string{
	"meshintent.uniquehosts", "meshintent.catchall", "meshintent.subsets",
	"meshintent.gateways", "meshintent.gatewayhosts", "meshintent.jwtclaims",
	"meshintent.destinationports", "meshintent.destinationrules",
	"meshintent.serviceentries", "meshintent.selectors",
}

// finding is what the analyzer tests compare of a result.
type finding struct {
	Severity, Policy, Object, Code string
}

// writeRepo makes a repository of hand-written objects: each file of files
// is one resource of the root kustomization.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var resources []string
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		resources = append(resources, name)
	}
	slices.Sort(resources)
	kustomization := "resources:\n- " + strings.Join(resources, "\n- ") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// analyze runs `reconciler validate -o json` over dir and returns the exit
// code and the findings of the analyzer policies.
func analyze(t *testing.T, dir string) (int, []finding) {
	t.Helper()
	code, stdout, stderr := run(t, "validate", dir, "-o", "json")
	if code != ExitOK && code != ExitDenied {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	rep := decodeJSON[output.PolicyReport](t, stdout)
	var out []finding
	for _, r := range rep.Results {
		if slices.Contains(analyzerPolicies, r.Policy) {
			out = append(out, finding{Severity: r.Severity, Policy: r.Policy, Object: r.Object, Code: r.Code})
		}
	}
	return code, out
}

// edit returns a change to a repository that replaces old with new in the
// file at path.
func edit(path, old, new string) func(r *gitfixture.Repo) {
	return func(r *gitfixture.Repo) { r.Edit(path, old, new) }
}

// refuse runs the CLI with args and checks that it exits 2 (ExitError)
// with want in its error output.
func refuse(t *testing.T, want string, args ...string) {
	t.Helper()
	code, stdout, stderr := run(t, args...)
	if code != ExitError || !strings.Contains(stderr, want) {
		t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d naming %q", args, code, stdout, stderr, ExitError, want)
	}
}

// refusedArgs is a command line the CLI must refuse with exit 2 and an
// error that contains wantErr.
type refusedArgs struct {
	name    string
	args    []string
	wantErr string
}

// refuseEach runs each usage error as a subtest (see refuse).
func refuseEach(t *testing.T, cases []refusedArgs) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) { refuse(t, tt.wantErr, tt.args...) })
	}
}

// wantContains checks that got, the text named what, holds each of wants.
func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

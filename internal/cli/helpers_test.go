package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// run executes the CLI in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = Run(ctx, args, &out, &errOut)
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

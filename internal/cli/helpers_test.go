package cli

import (
	"bytes"
	"context"
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

package testenv_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

func TestBuild(t *testing.T) {
	t.Run("a package of the module builds", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "reconciler")
		if err := testenv.Build(t.Context(), "./cmd/reconciler", bin, "CGO_ENABLED=0"); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "kustomize") {
			t.Errorf("the binary built does not print its version: %v\n%s", err, out)
		}
	})
	t.Run("a package that does not exist is an error naming it", func(t *testing.T) {
		err := testenv.Build(t.Context(), "./cmd/nothing-here", filepath.Join(t.TempDir(), "x"))
		if err == nil || !strings.Contains(err.Error(), "./cmd/nothing-here") {
			t.Errorf("err = %v, want one naming ./cmd/nothing-here", err)
		}
	})
}

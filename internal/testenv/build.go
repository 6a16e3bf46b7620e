package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Build compiles pkg, a package of this module named from the module root
// (such as "./cmd/reconciler"), into the executable out, with env (such as
// "CGO_ENABLED=0") added to the go command's environment.
func Build(ctx context.Context, pkg, out string, env ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, b)
	}
	return nil
}

package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The import command against a real API server is tested in pkg/importer,
// whose TestMain starts one; these tests need no cluster.
func TestImportFlags(t *testing.T) {
	t.Run("import without a namespace is a usage error", func(t *testing.T) {
		code, stdout, stderr := run(t, "import")
		if diff := cmp.Diff([]any{ExitError, "", "error: import needs --namespace\n"}, []any{code, stdout, stderr}); diff != "" {
			t.Errorf("exit, stdout, stderr (-want +got):\n%s", diff)
		}
	})
	t.Run("a kubeconfig that does not exist is an error naming it", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "kubeconfig")
		code, stdout, stderr := run(t, "import", "--namespace", "bookinfo", "--kubeconfig", missing)
		if diff := cmp.Diff([]any{ExitError, ""}, []any{code, stdout}); diff != "" {
			t.Errorf("exit, stdout (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(stderr, "error: loading kubeconfig: ") || !strings.Contains(stderr, missing) {
			t.Errorf("stderr does not name the kubeconfig:\n%s", stderr)
		}
	})
	t.Run("import takes no arguments", func(t *testing.T) {
		code, stdout, stderr := run(t, "import", "bookinfo")
		want := []any{ExitError, "", "error: unknown command \"bookinfo\" for \"reconciler import\"\n"}
		if diff := cmp.Diff(want, []any{code, stdout, stderr}); diff != "" {
			t.Errorf("exit, stdout, stderr (-want +got):\n%s", diff)
		}
	})
}

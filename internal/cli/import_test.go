package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/importer"
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

func TestImportNotesAreEscaped(t *testing.T) {
	for _, tc := range []struct {
		name string
		note importer.Note
		want string
	}{
		{"an ESC sequence in a field's value is shown escaped",
			importer.Note{Service: "reviews", Object: "VirtualService/bookinfo/reviews", Field: "spec.http[0]", Message: "header x-user \x1b[2Jexact match kept"},
			`reviews: VirtualService/bookinfo/reviews spec.http[0]: header x-user \x1b[2Jexact match kept`},
		{"a bidi override is shown escaped",
			importer.Note{Object: "DestinationRule/bookinfo/r\u202eev", Message: "m"},
			`DestinationRule/bookinfo/r\u202Eev: m`},
		{"a diff after the first line keeps its line breaks but not its escapes",
			importer.Note{Service: "ratings", Message: "rendered differently:\n- a\x07\n+ b", Skipped: true},
			"ratings: rendered differently: (skipped)\n- a\\x07\n+ b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, noteText(tc.note)); diff != "" {
				t.Errorf("note (-want +got):\n%s", diff)
			}
		})
	}
}

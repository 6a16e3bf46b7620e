package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGeneratedFilesAreFresh fails when zz_generated.deepcopy.go, the
// IntentSync CRD or the controller's RBAC (config/rbac/role.yaml, from the
// markers in internal/controller/rbac.go) no longer match the kubebuilder
// markers: run make generate.
func TestGeneratedFilesAreFresh(t *testing.T) {
	out, err := exec.Command("../../hack/controller-gen.sh").Output()
	if err != nil {
		t.Fatalf("building controller-gen: %v", err)
	}
	cg := strings.TrimSpace(string(out))
	gen := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cg, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("controller-gen %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(b)
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("deepcopy code matches the types", func(t *testing.T) {
		got := gen(`object:headerFile=""`, "paths=./", "output:object:stdout")
		if diff := cmp.Diff(read("zz_generated.deepcopy.go"), got); diff != "" {
			t.Errorf("zz_generated.deepcopy.go is stale; run make generate (-checked-in +generated):\n%s", diff)
		}
	})
	t.Run("the IntentSync CRD matches the types", func(t *testing.T) {
		var got string
		for _, doc := range strings.Split(gen("crd:allowDangerousTypes=true", "paths=./", "output:crd:stdout"), "\n---\n") {
			if strings.Contains(doc, "name: intentsyncs.meshintent.io") {
				got = strings.TrimPrefix(doc, "---\n")
			}
		}
		want := read(filepath.Join("..", "..", "config", "crd", "bases", "meshintent.io_intentsyncs.yaml"))
		if diff := cmp.Diff(strings.TrimSpace(strings.TrimPrefix(want, "---\n")), strings.TrimSpace(got)); diff != "" {
			t.Errorf("the IntentSync CRD is stale; run make generate (-checked-in +generated):\n%s", diff)
		}
	})
	t.Run("the controller's roles match its rbac markers", func(t *testing.T) {
		// As hack/generate.sh runs it, from the repository root.
		cmd := exec.Command(cg, "rbac:roleName=meshintent-reconciler,headerFile=hack/rbac-header.yaml",
			"paths=./internal/controller/...", "output:rbac:stdout")
		cmd.Dir = filepath.Join("..", "..")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("controller-gen rbac: %v\n%s", err, stderr.String())
		}
		want := read(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("config/rbac/role.yaml is stale; run make generate (-checked-in +generated):\n%s", diff)
		}
	})
}

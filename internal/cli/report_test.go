package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// unreachableKubeconfig writes a kubeconfig for an API server that is not
// there.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
users:
- name: none
  user: {token: x}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The report command against a cluster is tested in
// internal/controller/report_cli_test.go, next to the scheduled reports it
// must agree with; these are its usage errors.
func TestReportUsage(t *testing.T) {
	kubeconfig := unreachableKubeconfig(t)
	refuseEach(t, []refusedArgs{
		{"an unknown output format exits 2", []string{"report", "--intentsync", "ns/mesh", "-o", "yaml"}, `--output "yaml": use one of markdown, json`},
		{"an IntentSync without a namespace exits 2", []string{"report", "--intentsync", "mesh", "--kubeconfig", kubeconfig}, `--intentsync "mesh": use NAMESPACE/NAME`},
		{"an IntentSync with a directory exits 2", []string{"report", "--intentsync", "ns/mesh", exampleRepo}, "give either a directory, --repo or --intentsync"},
		{"an IntentSync with --repo exits 2", []string{"report", "--intentsync", "ns/mesh", "--repo", "https://example.com/x.git"}, "--intentsync takes the source and inventory from the IntentSync: drop --repo"},
		{"neither a directory nor --repo nor --intentsync exits 2", []string{"report"}, "give a local directory or --repo URL"},
		{"a cluster that cannot be reached exits 2", []string{"report", "--intentsync", "ns/mesh", "--kubeconfig", kubeconfig}, "reading IntentSync ns/mesh"},
		{"a directory report on a cluster that cannot be reached exits 2", []string{"report", exampleRepo + "/overlays/prod", "--kubeconfig", kubeconfig}, "checking drift"},
	})
}

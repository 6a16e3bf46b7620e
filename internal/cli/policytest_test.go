package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPolicyTestIsSandboxed runs `policy test` on policy directories that
// leave their repository through a symlink or call a builtin outside the
// sandbox: each is an error (exit 2) naming the link or the call.
func TestPolicyTestIsSandboxed(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, repo string)
		want    string
	}{{
		name: "a test file linked to /etc/passwd",
		prepare: func(t *testing.T, repo string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(repo, "policies", "passwd_test.rego")); err != nil {
				t.Fatal(err)
			}
		},
		want: "policies/passwd_test.rego: a symlink leads outside the repository: it leads to /etc/passwd",
	}, {
		name: "a test calling http.send",
		prepare: func(t *testing.T, repo string) {
			src := "package team_test\n\ntest_fetch if {\n\thttp.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1\"}).status_code == 200\n}\n"
			if err := os.WriteFile(filepath.Join(repo, "policies", "fetch_test.rego"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		want: "policies/fetch_test.rego:4: builtin http.send is not allowed in policies",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			if err := os.WriteFile(filepath.Join(repo, "meshintent.yaml"), []byte("policies: [policies]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(repo, "policies"), 0o755); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, repo)
			refuse(t, tt.want, "policy", "test", filepath.Join(repo, "policies"))
		})
	}
}

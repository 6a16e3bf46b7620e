package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestVerifyKeys runs validate, plan, apply and diff with --repo and
// --verify-keys against commits and tags signed by git with gpg and
// ssh-keygen.
func TestVerifyKeys(t *testing.T) {
	alice := gitfixture.NewGPGKey(t, "Alice <alice@example.com>")
	mallory := gitfixture.NewGPGKey(t, "Mallory <mallory@example.com>")
	bob := gitfixture.NewSSHKey(t, "bob@example.com")

	repo := newExampleRepo(t)
	unsigned := repo.Git("rev-parse", "HEAD")
	repo.Git("branch", "unsigned")
	repo.TagSigned("v1", "release v1, an unsigned commit", bob)
	repo.CommitSigned("signed by alice", alice)
	repo.Git("checkout", "-q", "-b", "ssh")
	sshSigned := repo.CommitSigned("signed by bob", bob)
	repo.Git("checkout", "-q", "-b", "mallory")
	malloryCommit := repo.CommitSigned("signed by mallory", mallory)
	repo.Git("checkout", "-q", "main")

	keys := t.TempDir()
	aliceKeys := filepath.Join(keys, "alice.asc")
	allowed := filepath.Join(keys, "allowed_signers")
	for name, content := range map[string]string{aliceKeys: alice.Trusted(), allowed: bob.Trusted()} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// An API server that is not there: apply and diff get as far as it
	// only when the verification passed.
	kubeconfig := filepath.Join(keys, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}

	repoArgs := func(cmd string, ref string, extra ...string) []string {
		args := []string{cmd, "--repo", repo.URL(), "--path", "overlays/prod", "--cache-dir", t.TempDir()}
		if ref != "" {
			args = append(args, "--ref", ref)
		}
		return append(args, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantErr must all appear in stderr; with wantOneLine, stderr is
		// one line.
		wantErr     []string
		wantOneLine bool
		// notErr must not appear in stderr.
		notErr []string
	}{{
		name:     "validate passes a commit signed by a trusted OpenPGP key",
		args:     repoArgs("validate", "main", "--verify-keys", aliceKeys),
		wantCode: ExitOK,
	}, {
		name:     "validate passes a commit signed by a trusted SSH key, the key files given as a comma list",
		args:     repoArgs("validate", "ssh", "--verify-keys", aliceKeys+","+allowed),
		wantCode: ExitOK,
	}, {
		name:     "validate refuses an unsigned commit with one line naming it",
		args:     repoArgs("validate", "unsigned", "--verify-keys", aliceKeys, "--verify-keys", allowed),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + unsigned + " is not signed"},
	}, {
		name:     "validate refuses a commit signed by an untrusted key, naming the key found",
		args:     repoArgs("validate", "mallory", "--verify-keys", aliceKeys),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + malloryCommit + " is signed by OpenPGP key " + mallory.Fingerprint + ", which is not a trusted key"},
	}, {
		name:     "validate refuses a commit signed by a key that is trusted only in another file not given",
		args:     repoArgs("validate", "ssh", "--verify-keys", aliceKeys),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + sshSigned + " is signed by SSH key SHA256:"},
	}, {
		name:     "validate with --verify-mode Tag passes a signed tag of an unsigned commit",
		args:     repoArgs("validate", "v1", "--verify-keys", allowed, "--verify-mode", "Tag"),
		wantCode: ExitOK,
	}, {
		name:     "validate with --verify-mode TagAndHEAD refuses that tag's unsigned commit",
		args:     repoArgs("validate", "v1", "--verify-keys", allowed, "--verify-mode", "TagAndHEAD"),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + unsigned + " is not signed"},
	}, {
		name:     "--verify-mode Tag with a branch is an error",
		args:     repoArgs("validate", "main", "--verify-keys", allowed, "--verify-mode", "Tag"),
		wantCode: ExitError,
		wantErr:  []string{"verify mode Tag needs a tag to be fetched, not branch main"},
	}, {
		name:     "plan verifies the head, not the base, which may predate signing",
		args:     repoArgs("plan", "", "--base", "unsigned", "--head", "main", "--verify-keys", aliceKeys),
		wantCode: ExitOK,
	}, {
		name:     "plan refuses an unsigned head",
		args:     repoArgs("plan", "", "--base", "main", "--head", "unsigned", "--verify-keys", aliceKeys),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"head unsigned: verification failed: commit " + unsigned + " is not signed"},
	}, {
		name:     "apply refuses an unsigned commit before it reaches the cluster",
		args:     repoArgs("apply", "unsigned", "--verify-keys", aliceKeys, "--kubeconfig", kubeconfig),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + unsigned + " is not signed"},
	}, {
		name:     "apply goes on to the cluster with a signed commit",
		args:     repoArgs("apply", "main", "--verify-keys", aliceKeys, "--kubeconfig", kubeconfig),
		wantCode: ExitError,
		wantErr:  []string{"127.0.0.1:1"},
		notErr:   []string{"verification failed"},
	}, {
		name:     "diff refuses a commit signed by an untrusted key",
		args:     repoArgs("diff", "mallory", "--verify-keys", aliceKeys, "--kubeconfig", kubeconfig),
		wantCode: ExitError, wantOneLine: true,
		wantErr: []string{"verification failed: commit " + malloryCommit + " is signed by OpenPGP key " + mallory.Fingerprint},
	}, {
		name:     "--verify-keys without --repo is a usage error",
		args:     []string{"validate", exampleRepo + "/overlays/prod", "--verify-keys", aliceKeys},
		wantCode: ExitError,
		wantErr:  []string{"--verify-keys verifies fetched revisions: use it with --repo"},
	}, {
		name:     "a missing key file is an error",
		args:     repoArgs("validate", "main", "--verify-keys", filepath.Join(keys, "nope.asc")),
		wantCode: ExitError,
		wantErr:  []string{"reading --verify-keys", "nope.asc"},
	}, {
		name:     "a bad --verify-mode is an error",
		args:     repoArgs("validate", "main", "--verify-keys", aliceKeys, "--verify-mode", "tail"),
		wantCode: ExitError,
		wantErr:  []string{`--verify-mode: verify mode "tail": want HEAD, Tag or TagAndHEAD`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			wantContains(t, "stderr", stderr, tt.wantErr...)
			for _, not := range tt.notErr {
				if strings.Contains(stderr, not) {
					t.Errorf("stderr has %q:\n%s", not, stderr)
				}
			}
			if tt.wantOneLine && strings.Count(strings.TrimSuffix(stderr, "\n"), "\n") != 0 {
				t.Errorf("stderr is not one line:\n%s", stderr)
			}
		})
	}
}

package gitfixture

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Signer signs commits and tags made by git: an OpenPGP key in its own
// GnuPG home (NewGPGKey) or an SSH key (NewSSHKey).
type Signer interface {
	// gitConfig returns the -c options and environment git signs with.
	gitConfig() (args, env []string)
	// Trusted is the signer's public key as a trusted-keys file holds it:
	// an armored OpenPGP key block or an allowed_signers line.
	Trusted() string
	// Name is what a verifier names the signer by (an OpenPGP user ID or
	// an SSH principal).
	Name() string
}

// GPGKey is an Ed25519 OpenPGP signing key made by gpg in a GnuPG home of
// its own.
type GPGKey struct {
	// Home is the GNUPGHOME.
	Home string
	// UID is the key's user ID, e.g. "Alice <alice@example.com>".
	UID string
	// Fingerprint is the primary key's fingerprint in upper-case hex.
	Fingerprint string
	// Armored is the exported public key.
	Armored string
	// program is what git runs as gpg.program: gpg, or a script running
	// it at a faked time.
	program string
}

// NewGPGKey makes a signing key for uid that never expires.
func NewGPGKey(t testing.TB, uid string) *GPGKey {
	t.Helper()
	return newGPGKey(t, uid, "", "never")
}

// NewExpiredGPGKey makes a signing key for uid that was created on
// 2020-01-01 and expired a day later. gpg makes it, and signs with it, at
// that faked time (--faked-system-time): commits signed with it carry a
// signature that was good when made by a key that has since expired. Commit
// such commits with a date of 2020-01-01 too (see CommitSignedAt).
func NewExpiredGPGKey(t testing.TB, uid string) *GPGKey {
	t.Helper()
	return newGPGKey(t, uid, "20200101T000000", "1d")
}

func newGPGKey(t testing.TB, uid, fakedTime, expire string) *GPGKey {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg is not installed (Debian: apt-get install gnupg)")
	}
	// Not t.TempDir: gpg-agent's socket lives in the home, and a socket
	// path may not be longer than about 100 bytes.
	home, err := os.MkdirTemp("", "gpg-")
	if err != nil {
		t.Fatal(err)
	}
	k := &GPGKey{Home: home, UID: uid, program: "gpg"}
	t.Cleanup(func() {
		// Stop the agent gpg started for this home, then remove it.
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	if fakedTime != "" {
		k.program = filepath.Join(home, "gpg-at-faked-time")
		script := fmt.Sprintf("#!/bin/sh\nexec gpg --faked-system-time %s \"$@\"\n", fakedTime)
		if err := os.WriteFile(k.program, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	k.gpg(t, "--quick-gen-key", uid, "ed25519", "sign", expire)
	for _, line := range strings.Split(k.gpg(t, "--with-colons", "--list-keys", uid), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			k.Fingerprint = f[9]
			break
		}
	}
	if k.Fingerprint == "" {
		t.Fatalf("gpg made no key for %s", uid)
	}
	k.Armored = k.gpg(t, "--armor", "--export", k.Fingerprint)
	return k
}

// gpg runs gpg in batch mode in the key's home (at the faked time, if any)
// and returns its standard output.
func (k *GPGKey) gpg(t testing.TB, args ...string) string {
	t.Helper()
	all := append([]string{"--batch", "--passphrase", "", "--pinentry-mode", "loopback"}, args...)
	cmd := exec.Command(k.program, all...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+k.Home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (k *GPGKey) gitConfig() (args, env []string) {
	return []string{"-c", "gpg.format=openpgp", "-c", "gpg.program=" + k.program, "-c", "user.signingkey=" + k.Fingerprint},
		[]string{"GNUPGHOME=" + k.Home}
}

// Trusted is the armored public key.
func (k *GPGKey) Trusted() string { return k.Armored + "\n" }

// Name is the user ID.
func (k *GPGKey) Name() string { return k.UID }

// SSHKey is an Ed25519 SSH key made by ssh-keygen, trusted for a principal.
type SSHKey struct {
	// Path is the private key file; Path+".pub" is the public key.
	Path string
	// Principal is the allowed_signers principal, e.g. "bob@example.com".
	Principal string
	// Public is the public key line ("ssh-ed25519 AAAA… comment").
	Public string
}

// NewSSHKey makes a key without passphrase for principal.
func NewSSHKey(t testing.TB, principal string) *SSHKey {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed")
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return &SSHKey{Path: path, Principal: principal, Public: strings.TrimSpace(string(pub))}
}

func (k *SSHKey) gitConfig() (args, env []string) {
	return []string{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + k.Path}, nil
}

// Trusted is the allowed_signers line of the key.
func (k *SSHKey) Trusted() string { return k.Principal + " " + k.Public + "\n" }

// Name is the principal.
func (k *SSHKey) Name() string { return k.Principal }

// CommitSigned commits everything in the work tree as Commit does, signed
// by s (git commit -S), and returns the commit SHA.
func (r *Repo) CommitSigned(msg string, s Signer) string {
	r.t.Helper()
	return r.CommitSignedAt(msg, s, "")
}

// CommitSignedAt is CommitSigned with the author and committer date set to
// date (any format git takes; "" is now).
func (r *Repo) CommitSignedAt(msg string, s Signer, date string) string {
	r.t.Helper()
	r.Git("add", "-A")
	var env []string
	if date != "" {
		env = []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
	}
	r.signed(s, env, "commit", "-q", "--allow-empty", "-S", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// TagSigned makes an annotated tag of HEAD signed by s (git tag -s).
func (r *Repo) TagSigned(name, msg string, s Signer) {
	r.t.Helper()
	r.signed(s, nil, "tag", "-s", "-m", msg, name)
}

// signed runs git args with the configuration and environment of s.
func (r *Repo) signed(s Signer, env []string, args ...string) {
	r.t.Helper()
	cfg, senv := s.gitConfig()
	cmd := Command(context.Background(), r.Dir, append(cfg, args...)...)
	cmd.Env = append(append(cmd.Env, senv...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

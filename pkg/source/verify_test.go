package source

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// signedFixture is a repository whose branches and tags hold commits signed
// in every way a verifier must tell apart, all made by git with gpg and
// ssh-keygen.
type signedFixture struct {
	root string
	repo *gitfixture.Repo
	// alice (OpenPGP) and bob (SSH) are trusted; mallory (OpenPGP) and eve
	// (SSH) are not; old is a trusted OpenPGP key that has expired.
	alice, mallory, old *gitfixture.GPGKey
	bob, eve            *gitfixture.SSHKey
	// commits maps each branch to its commit.
	commits map[string]string
}

func newSignedFixture(t *testing.T) *signedFixture {
	t.Helper()
	fx := &signedFixture{root: t.TempDir(), commits: map[string]string{}}
	fx.alice = gitfixture.NewGPGKey(t, "Alice <alice@example.com>")
	fx.mallory = gitfixture.NewGPGKey(t, "Mallory <mallory@example.com>")
	fx.old = gitfixture.NewExpiredGPGKey(t, "Old <old@example.com>")
	fx.bob = gitfixture.NewSSHKey(t, "bob@example.com")
	fx.eve = gitfixture.NewSSHKey(t, "eve@example.com")
	r := gitfixture.NewAt(t, filepath.Join(fx.root, "app.git"))
	fx.repo = r

	branch := func(name string, commit func() string) {
		r.Git("checkout", "-q", "--orphan", name)
		r.Write("README.md", name+"\n")
		fx.commits[name] = commit()
	}
	branch("pgp", func() string { return r.CommitSigned("signed by alice", fx.alice) })
	branch("ssh", func() string { return r.CommitSigned("signed by bob", fx.bob) })
	branch("unsigned", func() string { return r.Commit("not signed") })
	branch("pgp-untrusted", func() string { return r.CommitSigned("signed by mallory", fx.mallory) })
	branch("ssh-untrusted", func() string { return r.CommitSigned("signed by eve", fx.eve) })
	branch("pgp-expired", func() string { return r.CommitSignedAt("signed by old", fx.old, "2020-01-01T01:00:00Z") })
	fx.commits["pgp-tampered"] = fx.tamper(t, fx.commits["pgp"])
	r.Git("branch", "pgp-tampered", fx.commits["pgp-tampered"])
	fx.commits["ssh-tampered"] = fx.tamper(t, fx.commits["ssh"])
	r.Git("branch", "ssh-tampered", fx.commits["ssh-tampered"])

	// Tags on the unsigned commit: signed by trusted and untrusted keys,
	// annotated without a signature, and lightweight.
	r.Git("checkout", "-q", "unsigned")
	r.TagSigned("v1-pgp", "release signed by alice", fx.alice)
	r.TagSigned("v1-ssh", "release signed by bob", fx.bob)
	r.TagSigned("v1-untrusted", "release signed by eve", fx.eve)
	r.Git("tag", "-a", "-m", "release, not signed", "v1-annotated")
	r.Git("tag", "v1-light")
	// A signed tag on a signed commit, for TagAndHEAD.
	r.Git("checkout", "-q", "pgp")
	r.TagSigned("v2-both", "release signed by bob", fx.bob)
	return fx
}

// tamper writes a copy of commit with another message but the same
// signature, as git hash-object, and returns its SHA.
func (fx *signedFixture) tamper(t *testing.T, commit string) string {
	t.Helper()
	raw := fx.repo.Git("cat-file", "commit", commit)
	forged := strings.Replace(raw, "signed by", "forged, claiming to be signed by", 1)
	if forged == raw {
		t.Fatalf("commit %s has no message to forge", commit)
	}
	cmd := gitfixture.Command(t.Context(), fx.repo.Dir, "hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Stdin = strings.NewReader(forged + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git hash-object: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// trusted is a key ring of alice, old and bob, read from two files as the
// CLI reads --verify-keys.
func (fx *signedFixture) trusted(t *testing.T) *KeyRing {
	t.Helper()
	kr, err := ParseKeyRing(
		KeyFile{Name: "pgp.asc", Data: []byte(fx.alice.Trusted() + fx.old.Trusted())},
		KeyFile{Name: "allowed_signers", Data: []byte("# trusted SSH signers\n" + fx.bob.Trusted())},
	)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestVerify(t *testing.T) {
	fx := newSignedFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	keys := fx.trusted(t)
	sshFpr := func(k *gitfixture.SSHKey) string {
		out, err := output("ssh-keygen", "-l", "-f", k.Path+".pub")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(out)[1]
	}
	aliceName := "Alice <alice@example.com> (OpenPGP key " + fx.alice.Fingerprint + ")"
	bobName := "bob@example.com (SSH key " + sshFpr(fx.bob) + ")"

	tests := []struct {
		name string
		ref  Ref
		mode VerifyMode
		// want is Verified.String() with "<c>" for the commit; empty when
		// an error is wanted.
		want string
		// wantErr is the sentinel and wantMsg the parts of the message.
		wantErr error
		wantMsg []string
	}{{
		name: "a commit signed by a trusted OpenPGP key is good, naming its identity and fingerprint",
		ref:  Ref{Branch: "pgp"}, want: "<c> by " + aliceName,
	}, {
		name: "a commit signed by a trusted SSH key is good, naming its principal and fingerprint",
		ref:  Ref{Branch: "ssh"}, want: "<c> by " + bobName,
	}, {
		name: "an unsigned commit is refused",
		ref:  Ref{Branch: "unsigned"}, wantErr: ErrUnsigned,
		wantMsg: []string{"commit <c> is not signed"},
	}, {
		name: "a commit signed by an untrusted OpenPGP key is refused, naming the key",
		ref:  Ref{Branch: "pgp-untrusted"}, wantErr: ErrUntrustedSigner,
		wantMsg: []string{"commit <c> is signed by OpenPGP key " + fx.mallory.Fingerprint + ", which is not a trusted key"},
	}, {
		name: "a commit signed by an untrusted SSH key is refused, naming the key",
		ref:  Ref{Branch: "ssh-untrusted"}, wantErr: ErrUntrustedSigner,
		wantMsg: []string{"commit <c> is signed by SSH key " + sshFpr(fx.eve) + ", which is not a trusted key"},
	}, {
		name: "a commit signed by a trusted OpenPGP key that has expired is refused",
		ref:  Ref{Branch: "pgp-expired"}, wantErr: ErrKeyExpired,
		wantMsg: []string{"commit <c> is signed by Old <old@example.com> (OpenPGP key " + fx.old.Fingerprint + "), whose key has expired", "expired 2020-01-02T00:00:00Z"},
	}, {
		name: "a commit whose content no longer matches its OpenPGP signature is refused",
		ref:  Ref{Branch: "pgp-tampered"}, wantErr: ErrBadSignature,
		wantMsg: []string{"commit <c> has a bad signature by " + aliceName},
	}, {
		name: "a commit whose content no longer matches its SSH signature is refused",
		ref:  Ref{Branch: "ssh-tampered"}, wantErr: ErrBadSignature,
		wantMsg: []string{"commit <c> has a bad signature by " + bobName, "signature does not match"},
	}, {
		name: "Tag mode accepts an OpenPGP-signed tag of an unsigned commit",
		ref:  Ref{Tag: "v1-pgp"}, mode: VerifyTag, want: "<c> (tag v1-pgp by " + aliceName + ")",
	}, {
		name: "Tag mode accepts an SSH-signed tag",
		ref:  Ref{Tag: "v1-ssh"}, mode: VerifyTag, want: "<c> (tag v1-ssh by " + bobName + ")",
	}, {
		name: "TagAndHEAD mode refuses a signed tag of an unsigned commit",
		ref:  Ref{Tag: "v1-pgp"}, mode: VerifyTagAndHEAD, wantErr: ErrUnsigned,
		wantMsg: []string{"commit <c> is not signed"},
	}, {
		name: "TagAndHEAD mode accepts a signed tag of a signed commit and names both signers",
		ref:  Ref{Tag: "v2-both"}, mode: VerifyTagAndHEAD, want: "<c> by " + aliceName + " (tag v2-both by " + bobName + ")",
	}, {
		name: "Tag mode refuses a tag signed by an untrusted key",
		ref:  Ref{Tag: "v1-untrusted"}, mode: VerifyTag, wantErr: ErrUntrustedSigner,
		wantMsg: []string{"tag v1-untrusted (", ") is signed by SSH key " + sshFpr(fx.eve)},
	}, {
		name: "Tag mode refuses an annotated tag without a signature",
		ref:  Ref{Tag: "v1-annotated"}, mode: VerifyTag, wantErr: ErrUnsigned,
		wantMsg: []string{"tag v1-annotated (", ") is not signed"},
	}, {
		name: "Tag mode refuses a lightweight tag, which cannot be signed",
		ref:  Ref{Tag: "v1-light"}, mode: VerifyTag, wantErr: ErrUnsigned,
		wantMsg: []string{"tag v1-light (<c>) is not signed: a lightweight tag cannot be signed"},
	}}
	for _, u := range []struct{ name, url string }{
		{"over file://", "file://" + fx.repo.Dir},
		{"over smart HTTP", srv.URL + "/app.git"},
	} {
		t.Run(u.name, func(t *testing.T) {
			f := newTestFetcher(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := t.Context()
					opts := Options{URL: u.url, Ref: tt.ref}
					art, err := f.Fetch(ctx, opts)
					if err != nil {
						t.Fatal(err)
					}
					got, err := f.Verify(ctx, opts, art, VerifyOptions{Mode: tt.mode, Keys: keys})
					if tt.wantErr == nil {
						if err != nil {
							t.Fatalf("Verify: %v", err)
						}
						if want := strings.ReplaceAll(tt.want, "<c>", art.Commit); got.String() != want {
							t.Errorf("Verified = %q\nwant        %q", got.String(), want)
						}
						return
					}
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
					}
					if _, ok := errors.AsType[*VerificationError](err); !ok {
						t.Errorf("Verify error %T is not a *VerificationError", err)
					}
					msg := err.Error()
					if strings.Contains(msg, "\n") {
						t.Errorf("message is not one line: %q", msg)
					}
					for _, part := range tt.wantMsg {
						if part = strings.ReplaceAll(part, "<c>", art.Commit); !strings.Contains(msg, part) {
							t.Errorf("message %q does not contain %q", msg, part)
						}
					}
				})
			}
		})
	}

	t.Run("a commit missing from a rebuilt cache is fetched again before it is verified", func(t *testing.T) {
		f := newTestFetcher(t)
		opts := Options{URL: srv.URL + "/app.git", Ref: Ref{Branch: "ssh"}}
		art, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		removeAll(t, cacheGitDir(t, f))
		// The tree is still there, so Fetch itself does not need the objects.
		if art, err = f.Fetch(t.Context(), Options{URL: opts.URL, Ref: Ref{Commit: art.Commit}}); err != nil {
			t.Fatal(err)
		}
		got, err := f.Verify(t.Context(), opts, art, VerifyOptions{Keys: keys})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if want := art.Commit + " by " + bobName; got.String() != want {
			t.Errorf("Verified = %q, want %q", got.String(), want)
		}
	})

	t.Run("a tag re-made on the same commit is verified as the remote has it now", func(t *testing.T) {
		f := newTestFetcher(t)
		opts := Options{URL: srv.URL + "/app.git", Ref: Ref{Tag: "v3"}}
		fx.repo.Git("checkout", "-q", "unsigned")
		fx.repo.TagSigned("v3", "release signed by eve", fx.eve)
		art, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Verify(t.Context(), opts, art, VerifyOptions{Mode: VerifyTag, Keys: keys}); !errors.Is(err, ErrUntrustedSigner) {
			t.Fatalf("Verify of the tag by eve: %v, want %v", err, ErrUntrustedSigner)
		}
		fx.repo.Git("tag", "-d", "v3")
		fx.repo.TagSigned("v3", "release signed by bob", fx.bob)
		// Same commit: Fetch serves the cached tree without fetching.
		if art, err = f.Fetch(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
		got, err := f.Verify(t.Context(), opts, art, VerifyOptions{Mode: VerifyTag, Keys: keys})
		if err != nil {
			t.Fatalf("Verify of the tag re-made by bob: %v", err)
		}
		if want := art.Commit + " (tag v3 by " + bobName + ")"; got.String() != want {
			t.Errorf("Verified = %q, want %q", got.String(), want)
		}
	})

	t.Run("a tag mode without a fetched tag is an error", func(t *testing.T) {
		f := newTestFetcher(t)
		opts := Options{URL: "file://" + fx.repo.Dir, Ref: Ref{Branch: "pgp"}}
		art, err := f.Fetch(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Verify(t.Context(), opts, art, VerifyOptions{Mode: VerifyTag, Keys: keys})
		if err == nil || !strings.Contains(err.Error(), "verify mode Tag needs a tag to be fetched, not branch pgp") {
			t.Errorf("Verify error = %v", err)
		}
	})
}

func TestParseKeyRing(t *testing.T) {
	alice := gitfixture.NewGPGKey(t, "Alice <alice@example.com>")
	bob := gitfixture.NewSSHKey(t, "bob@example.com")
	private := "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n"
	tests := []struct {
		name    string
		files   []KeyFile
		wantLen int
		wantErr string
	}{{
		name:    "an armored public key and an allowed_signers file make one ring",
		files:   []KeyFile{{Name: "a.asc", Data: []byte(alice.Trusted())}, {Name: "allowed", Data: []byte(bob.Trusted())}},
		wantLen: 2,
	}, {
		name:    "two armored blocks in one file are both read",
		files:   []KeyFile{{Name: "a.asc", Data: []byte(alice.Trusted() + alice.Trusted())}},
		wantLen: 2,
	}, {
		name:    "allowed_signers options namespaces, valid-after and valid-before are read",
		files:   []KeyFile{{Name: "allowed", Data: []byte(`"bob@example.com,ci@example.com" namespaces="git",valid-after="20200101",valid-before="20991231Z" ` + bob.Public + "\n")}},
		wantLen: 1,
	}, {
		name:    "a private key is refused",
		files:   []KeyFile{{Name: "secret.asc", Data: []byte(private)}},
		wantErr: "trusted keys secret.asc: holds an OpenPGP private key; give the public key",
	}, {
		name:    "a file with no key is refused",
		files:   []KeyFile{{Name: "empty", Data: []byte("# nothing\n")}},
		wantErr: "trusted keys empty: no OpenPGP public key block and no allowed_signers line",
	}, {
		name:    "a line that is not principals and a key is refused with its line number",
		files:   []KeyFile{{Name: "allowed", Data: []byte("# ok\nbob@example.com not-a-key\n")}},
		wantErr: "trusted keys allowed:2: not an allowed_signers line",
	}, {
		name:    "cert-authority is refused",
		files:   []KeyFile{{Name: "allowed", Data: []byte("*@example.com cert-authority " + bob.Public + "\n")}},
		wantErr: "trusted keys allowed:1: option cert-authority: SSH certificates are not supported",
	}, {
		name:    "an unknown option is refused",
		files:   []KeyFile{{Name: "allowed", Data: []byte("bob@example.com no-touch-required " + bob.Public + "\n")}},
		wantErr: `trusted keys allowed:1: unknown option "no-touch-required"`,
	}, {
		name:    "no files is an error",
		wantErr: "no trusted keys given",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := ParseKeyRing(tt.files...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kr.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", kr.Len(), tt.wantLen)
			}
		})
	}
}

// TestVerifyAllowedSignersOptions checks that the options of an
// allowed_signers line narrow the trust in its key.
func TestVerifyAllowedSignersOptions(t *testing.T) {
	bob := gitfixture.NewSSHKey(t, "bob@example.com")
	r := gitfixture.New(t)
	r.Write("README.md", "x\n")
	sha := r.CommitSignedAt("signed by bob", bob, "2024-06-01T12:00:00Z")
	tests := []struct {
		name    string
		options string
		wantErr error
	}{
		{name: "no options trust the key", options: ""},
		{name: "namespaces including git trust it", options: `namespaces="file,git" `},
		{name: "namespaces without git do not", options: `namespaces="file" `, wantErr: ErrUntrustedSigner},
		{name: "a commit dated inside the validity is good", options: `valid-after="20240101",valid-before="20250101" `},
		{name: "a commit dated before valid-after is refused as expired", options: `valid-after="20240602Z" `, wantErr: ErrKeyExpired},
		{name: "a commit dated after valid-before is refused as expired", options: `valid-before="202406011159Z" `, wantErr: ErrKeyExpired},
	}
	f := newTestFetcher(t)
	opts := Options{URL: r.URL(), Ref: Ref{Commit: sha}}
	art, err := f.Fetch(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := ParseKeyRing(KeyFile{Name: "allowed", Data: []byte("bob@example.com " + tt.options + bob.Public + "\n")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Verify(t.Context(), opts, art, VerifyOptions{Keys: kr})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// output runs a command and returns its standard output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

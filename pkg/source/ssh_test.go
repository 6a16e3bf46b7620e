package source

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFetchSSH(t *testing.T) {
	const passphrase = "correct-horse-battery"
	fx := newFixture(t)
	client := newSSHKey(t)
	srv := newGitSSHServer(t, fx.root, client.signer.PublicKey())
	trusted := knownHostsLine(srv.Addr, srv.HostKey)
	otherHost := newSSHKey(t).signer.PublicKey()
	hanging := newHangingSSHServer(t)

	tests := []struct {
		name    string
		url     string
		auth    *Auth
		timeout time.Duration
		wantErr error
	}{
		{
			name: "the authorized key and a trusted host key succeed",
			url:  "ssh://git@" + srv.Addr + "/app.git",
			auth: &Auth{SSHPrivateKey: client.pem(t, ""), SSHKnownHosts: trusted},
		},
		{
			name: "an encrypted key with its passphrase succeeds",
			url:  "ssh://" + srv.Addr + "/app.git",
			auth: &Auth{SSHPrivateKey: client.pem(t, passphrase), SSHPassphrase: passphrase, SSHKnownHosts: trusted},
		},
		{
			name:    "a key the server does not know fails authentication",
			url:     "ssh://git@" + srv.Addr + "/app.git",
			auth:    &Auth{SSHPrivateKey: newSSHKey(t).pem(t, ""), SSHKnownHosts: trusted},
			wantErr: ErrAuthFailed,
		},
		{
			name:    "a host missing from known_hosts is not trusted",
			url:     "ssh://git@" + srv.Addr + "/app.git",
			auth:    &Auth{SSHPrivateKey: client.pem(t, ""), SSHKnownHosts: knownHostsLine("127.0.0.2:22", srv.HostKey)},
			wantErr: ErrUntrustedHostKey,
		},
		{
			name:    "a host whose key changed is not trusted",
			url:     "ssh://git@" + srv.Addr + "/app.git",
			auth:    &Auth{SSHPrivateKey: client.pem(t, ""), SSHKnownHosts: knownHostsLine(srv.Addr, otherHost)},
			wantErr: ErrUntrustedHostKey,
		},
		{
			name:    "a repository that does not exist is not found",
			url:     "ssh://git@" + srv.Addr + "/missing.git",
			auth:    &Auth{SSHPrivateKey: client.pem(t, ""), SSHKnownHosts: trusted},
			wantErr: ErrRefNotFound,
		},
		{
			name:    "a server that never answers times out",
			url:     "ssh://git@" + hanging + "/app.git",
			auth:    &Auth{SSHPrivateKey: client.pem(t, ""), SSHKnownHosts: knownHostsLine(hanging, srv.HostKey)},
			timeout: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The test's own deadline only stops a hang; the fetch must give up
			// well before, on Options.Timeout.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			got, err := newTestFetcher(t).Fetch(ctx, Options{URL: tc.url, Ref: Ref{Branch: "main"}, Auth: tc.auth, Timeout: tc.timeout})
			if tc.wantErr != nil {
				t.Logf("error: %v", err)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(tc.wantErr, context.DeadlineExceeded) && !errors.Is(err, ErrUnreachable) {
					t.Errorf("Fetch error = %v, want it to also be %v", err, ErrUnreachable)
				}
				assertNoSecrets(t, err, passphrase)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			fx.checkFetched(t, got, fx.c2)
		})
	}
}

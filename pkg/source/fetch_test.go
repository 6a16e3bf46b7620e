package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
)

// A controller that restarts finds the commit's tree materialised in its
// cache and opens no repository to fetch it; the status still names the
// commit's subject and author.
func TestFetchMetaOfACachedTree(t *testing.T) {
	fx := newFixture(t)
	cache := t.TempDir()
	for _, round := range []string{"first fetch", "tree already in the cache"} {
		f, err := NewFetcher(cache)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Fetch(t.Context(), Options{URL: fx.repo.Dir, Ref: Ref{Commit: fx.c1}})
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		if got.Meta.Subject != "c1" || got.Meta.Author != "Test" || got.Meta.Time.IsZero() {
			t.Errorf("%s: meta %+v, want subject c1 by Test with a time", round, got.Meta)
		}
	}
}

func TestFetchRefs(t *testing.T) {
	fx := newFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	urls := []struct {
		name string
		url  string
	}{
		{name: "a local path", url: fx.repo.Dir},
		{name: "a file url", url: "file://" + fx.repo.Dir},
		{name: "an http url", url: srv.URL + "/app.git"},
	}
	refs := []struct {
		name         string
		ref          Ref
		wantCommit   string
		wantRevision string
	}{
		{name: "no ref fetches the remote HEAD", ref: Ref{}, wantCommit: fx.c2, wantRevision: "main@sha1:" + fx.c2},
		{name: "a branch fetches its tip", ref: Ref{Branch: "feature"}, wantCommit: fx.c3, wantRevision: "feature@sha1:" + fx.c3},
		{name: "an annotated tag is peeled to its commit", ref: Ref{Tag: "v1"}, wantCommit: fx.c1, wantRevision: "v1@sha1:" + fx.c1},
		{name: "a lightweight tag fetches its commit", ref: Ref{Tag: "light"}, wantCommit: fx.c2, wantRevision: "light@sha1:" + fx.c2},
		{name: "a commit that is a branch tip is fetched", ref: Ref{Commit: fx.c3}, wantCommit: fx.c3, wantRevision: "sha1:" + fx.c3},
		{name: "a commit deep in history falls back to a full fetch", ref: Ref{Commit: fx.c0}, wantCommit: fx.c0, wantRevision: "sha1:" + fx.c0},
		{name: "an upper-case commit sha is accepted", ref: Ref{Commit: strings.ToUpper(fx.c1)}, wantCommit: fx.c1, wantRevision: "sha1:" + fx.c1},
		{name: "the main branch is fetched after history was deepened", ref: Ref{Branch: "main"}, wantCommit: fx.c2, wantRevision: "main@sha1:" + fx.c2},
	}
	for _, u := range urls {
		t.Run(u.name, func(t *testing.T) {
			f := newTestFetcher(t)
			for _, tc := range refs {
				t.Run(tc.name, func(t *testing.T) {
					got, err := f.Fetch(t.Context(), Options{URL: u.url, Ref: tc.ref})
					if err != nil {
						t.Fatalf("Fetch: %v", err)
					}
					want := &Artifact{
						URL:      u.url,
						Ref:      Ref{Branch: tc.ref.Branch, Tag: tc.ref.Tag, Commit: strings.ToLower(tc.ref.Commit)}.String(),
						Commit:   tc.wantCommit,
						Revision: tc.wantRevision,
						Meta:     CommitMeta{Subject: fx.subject(tc.wantCommit), Author: "Test"},
					}
					if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Artifact{}, "Dir"), cmpopts.IgnoreFields(CommitMeta{}, "Time")); diff != "" {
						t.Errorf("Fetch artifact mismatch (-want +got):\n%s", diff)
					}
					if got.Meta.Time.IsZero() {
						t.Error("Fetch artifact: no commit time")
					}
					if diff := cmp.Diff(fx.tree(tc.wantCommit), readTree(t, got.Dir)); diff != "" {
						t.Errorf("tree mismatch (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

func TestFetchHTTPAuth(t *testing.T) {
	const (
		user     = "deployer"
		password = "s3cret-Pa55word"
		token    = "tok-0123456789abcdef"
	)
	fx := newFixture(t)
	basicSrv := newGitHTTPServer(t, fx.root, httpAuth{username: user, password: password})
	bearerSrv := newGitHTTPServer(t, fx.root, httpAuth{token: token})
	openSrv := newGitHTTPServer(t, fx.root, httpAuth{})
	basicHost := strings.TrimPrefix(basicSrv.URL, "http://")

	tests := []struct {
		name    string
		url     string
		auth    *Auth
		wantURL string
		wantErr error
	}{
		{name: "anonymous access to an open server succeeds", url: openSrv.URL + "/app.git"},
		{name: "basic auth with the right password succeeds", url: basicSrv.URL + "/app.git", auth: &Auth{Username: user, Password: password}},
		{name: "basic auth with a wrong password fails", url: basicSrv.URL + "/app.git", auth: &Auth{Username: user, Password: password + "-wrong"}, wantErr: ErrAuthFailed},
		{name: "no credentials for a protected server fails", url: basicSrv.URL + "/app.git", wantErr: ErrAuthFailed},
		{name: "credentials in the url are used and stripped", url: "http://" + user + ":" + password + "@" + basicHost + "/app.git", wantURL: basicSrv.URL + "/app.git"},
		{name: "wrong credentials in the url fail", url: "http://" + user + ":" + password + "x@" + basicHost + "/app.git", wantURL: basicSrv.URL + "/app.git", wantErr: ErrAuthFailed},
		{name: "a bearer token that is right succeeds", url: bearerSrv.URL + "/app.git", auth: &Auth{BearerToken: token}},
		{name: "a bearer token that is wrong fails", url: bearerSrv.URL + "/app.git", auth: &Auth{BearerToken: token + "-wrong"}, wantErr: ErrAuthFailed},
		{name: "a missing bearer token fails", url: bearerSrv.URL + "/app.git", wantErr: ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newTestFetcher(t).Fetch(t.Context(), Options{URL: tc.url, Ref: Ref{Branch: "main"}, Auth: tc.auth})
			if tc.wantErr != nil {
				t.Logf("error: %v", err)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
				}
				assertNoSecrets(t, err, password, token)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			wantURL := tc.wantURL
			if wantURL == "" {
				wantURL = tc.url
			}
			if diff := cmp.Diff(wantURL, got.URL); diff != "" {
				t.Errorf("artifact URL mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fx.c2, got.Commit); diff != "" {
				t.Errorf("commit mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// assertNoSecrets fails if any secret appears in the error message.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}

func TestFetchErrors(t *testing.T) {
	fx := newFixture(t)
	srv := newGitHTTPServer(t, fx.root, httpAuth{})
	repoURL := srv.URL + "/app.git"
	hanging := newHangingServer(t)
	closed := testenv.FreeAddr(t)

	tests := []struct {
		name    string
		opts    Options
		wantErr error
	}{
		{name: "a branch that does not exist is not found", opts: Options{URL: repoURL, Ref: Ref{Branch: "nope"}}, wantErr: ErrRefNotFound},
		{name: "a tag that does not exist is not found", opts: Options{URL: repoURL, Ref: Ref{Tag: "v9"}}, wantErr: ErrRefNotFound},
		{name: "a commit that does not exist is not found", opts: Options{URL: repoURL, Ref: Ref{Commit: strings.Repeat("ab", 20)}}, wantErr: ErrRefNotFound},
		{name: "a repository that does not exist is not found", opts: Options{URL: srv.URL + "/missing.git"}, wantErr: ErrRefNotFound},
		{name: "a local path that does not exist is not found", opts: Options{URL: filepath.Join(fx.root, "missing")}, wantErr: ErrRefNotFound},
		{name: "a closed port is unreachable", opts: Options{URL: "http://" + closed + "/app.git"}, wantErr: ErrUnreachable},
		{name: "a server that hangs times out", opts: Options{URL: hanging + "/app.git", Timeout: 300 * time.Millisecond}, wantErr: context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The test's own deadline only stops a hang; the fetch must give up
			// well before, on Options.Timeout.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err := newTestFetcher(t).Fetch(ctx, tc.opts)
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(tc.wantErr, context.DeadlineExceeded) && !errors.Is(err, ErrUnreachable) {
				t.Errorf("Fetch error = %v, want it to also be %v", err, ErrUnreachable)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q does not start in lower case", msg)
			}
		})
	}
}

func TestFetchRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantMsg string
	}{
		{name: "an empty url is rejected", opts: Options{}, wantMsg: "url is empty"},
		{name: "two refs at once are rejected", opts: Options{URL: "https://example.com/r.git", Ref: Ref{Branch: "main", Tag: "v1"}}, wantMsg: "at most one"},
		{name: "a short commit sha is rejected", opts: Options{URL: "https://example.com/r.git", Ref: Ref{Commit: "abc123"}}, wantMsg: "not a full 40-character hex sha"},
		{name: "a branch name that could inject a refspec is rejected", opts: Options{URL: "https://example.com/r.git", Ref: Ref{Branch: "main:refs/heads/x"}}, wantMsg: "invalid branch name"},
		{name: "credentials over plain http to a remote host are rejected", opts: Options{URL: "http://example.com/r.git", Auth: &Auth{Username: "u", Password: "hunter2hunter2"}}, wantMsg: "plain http"},
		{name: "a bearer token combined with a password is rejected", opts: Options{URL: "https://example.com/r.git", Auth: &Auth{Password: "hunter2hunter2", BearerToken: "tok-tok-tok"}}, wantMsg: "not both"},
		{name: "ssh without known_hosts is rejected", opts: Options{URL: "ssh://git@example.com/r.git", Auth: &Auth{SSHPrivateKey: []byte("x")}}, wantMsg: "known_hosts"},
		{name: "an unsupported scheme is rejected", opts: Options{URL: "ftp://example.com/r.git"}, wantMsg: "unsupported url scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTestFetcher(t).Fetch(t.Context(), tc.opts)
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Fetch error = %v, want it to contain %q", err, tc.wantMsg)
			}
			assertNoSecrets(t, err, "hunter2hunter2", "tok-tok-tok")
		})
	}
}

func TestFetchCancelledContext(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newTestFetcher(t).Fetch(ctx, Options{URL: fx.repo.Dir})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch error = %v, want %v", err, context.Canceled)
	}
}

func TestFetchWritesSymlinksAndModes(t *testing.T) {
	root := t.TempDir()
	r := gitfixture.NewAt(t, filepath.Join(root, "links"))
	r.CommitFiles("files", map[string]string{"base/kustomization.yaml": "resources: []\n", "bin/run.sh": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(r.Dir, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"overlay/base":  "../base",
		"self":          ".",
		"escape-up":     "../../etc",
		"escape-abs":    "/etc/passwd",
		"escape-via":    "self/..",
		"overlay/climb": "../self/../x",
	} {
		r.Symlink(link, target)
	}
	r.CommitFiles("links", nil)

	got, err := newTestFetcher(t).Fetch(t.Context(), Options{URL: r.Dir})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := map[string]string{
		"base/kustomization.yaml": "resources: []\n",
		"bin/run.sh":              "#!/bin/sh\n",
		"overlay/base":            "-> ../base",
		"self":                    "-> .",
		"escape-up":               "-> " + EscapingLinkPrefix + "..%2F..%2Fetc",
		"escape-abs":              "-> " + EscapingLinkPrefix + "%2Fetc%2Fpasswd",
		"escape-via":              "-> " + EscapingLinkPrefix + "self%2F..",
		"overlay/climb":           "-> " + EscapingLinkPrefix + "..%2Fself%2F..%2Fx",
	}
	if diff := cmp.Diff(want, readTree(t, got.Dir)); diff != "" {
		t.Errorf("tree mismatch (-want +got):\n%s", diff)
	}
	// A link leading out cannot be followed, by any reader.
	for _, link := range []string{"escape-up", "escape-abs", "escape-via", "overlay/climb"} {
		if b, err := os.ReadFile(filepath.Join(got.Dir, link)); err == nil {
			t.Errorf("reading %s through its link gave %q, want an error", link, b)
		}
		if _, err := fs.ReadFile(os.DirFS(got.Dir), link); err == nil {
			t.Errorf("reading %s through os.DirFS worked, want an error", link)
		}
	}
	fi, err := os.Stat(filepath.Join(got.Dir, "bin/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin/run.sh mode = %v, want it executable", fi.Mode())
	}
}

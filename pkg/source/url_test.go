package source

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSource(t *testing.T) {
	type parsed struct {
		Display, Endpoint, Protocol, KeyOf string
	}
	tests := []struct {
		name string
		raw  string
		want parsed
	}{
		{
			name: "https credentials are stripped and kept out of the cache key",
			raw:  "https://bot:pa%40ss@git.example.com/org/repo.git",
			want: parsed{Display: "https://git.example.com/org/repo.git", Endpoint: "https://git.example.com/org/repo.git", Protocol: "https", KeyOf: "https://git.example.com/org/repo.git"},
		},
		{
			name: "an ssh url keeps its user but loses a password",
			raw:  "ssh://git:pw@git.example.com:2222/org/repo.git",
			want: parsed{Display: "ssh://git@git.example.com:2222/org/repo.git", Endpoint: "ssh://git@git.example.com:2222/org/repo.git", Protocol: "ssh", KeyOf: "ssh://git@git.example.com:2222/org/repo.git"},
		},
		{
			name: "an scp-like address is kept as is",
			raw:  "git@github.com:org/repo.git",
			want: parsed{Display: "git@github.com:org/repo.git", Endpoint: "git@github.com:org/repo.git", Protocol: "ssh", KeyOf: "git@github.com:org/repo.git"},
		},
		{
			name: "an scp-like address loses a password",
			raw:  "deploy:pw@github.com:org/repo.git",
			want: parsed{Display: "deploy@github.com:org/repo.git", Endpoint: "deploy@github.com:org/repo.git", Protocol: "ssh", KeyOf: "deploy@github.com:org/repo.git"},
		},
		{
			name: "a local path shares its cache with the file url",
			raw:  "/srv/git/repo",
			want: parsed{Display: "/srv/git/repo", Endpoint: "/srv/git/repo", Protocol: "file", KeyOf: "file:///srv/git/repo"},
		},
		{
			name: "a file url is served from its path",
			raw:  "file:///srv/git/repo",
			want: parsed{Display: "file:///srv/git/repo", Endpoint: "/srv/git/repo", Protocol: "file", KeyOf: "file:///srv/git/repo"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSource(tc.raw)
			if err != nil {
				t.Fatalf("parseSource(%q): %v", tc.raw, err)
			}
			got := parsed{Display: s.display, Endpoint: s.endpoint, Protocol: s.protocol, KeyOf: tc.want.KeyOf}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseSource(%q) mismatch (-want +got):\n%s", tc.raw, diff)
			}
			if want := cacheKey(tc.want.KeyOf); s.key != want {
				t.Errorf("cache key = %s, want the key of %q (%s)", s.key, tc.want.KeyOf, want)
			}
		})
	}
}

func TestRedactHidesEscapedAndPlainPasswords(t *testing.T) {
	opts := Options{URL: "https://bot:pa%40ss-word@git.example.com/r.git", Auth: &Auth{BearerToken: "tkn-123456"}}
	err := redact(errors.New("failed for pa%40ss-word, pa@ss-word and tkn-123456"), secretsOf(opts))
	for _, secret := range []string{"pa%40ss-word", "pa@ss-word", "tkn-123456"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
	if diff := cmp.Diff("failed for ***, *** and ***", err.Error()); diff != "" {
		t.Errorf("redacted message mismatch (-want +got):\n%s", diff)
	}
}

func TestValidRefName(t *testing.T) {
	tests := map[string]bool{
		"main":              true,
		"release/1.x":       true,
		"feature-a_b.c":     true,
		"":                  false,
		"-rf":               false,
		"a..b":              false,
		"a:b":               false,
		"a b":               false,
		"refs/*":            false,
		"x.lock":            false,
		"/main":             false,
		"main/":             false,
		"a/.hidden":         false,
		"with@{brace":       false,
		"back\\slash":       false,
		"ctrl\x01character": false,
	}
	for name, want := range tests {
		if got := validRefName(name); got != want {
			t.Errorf("validRefName(%q) = %v, want %v", name, got, want)
		}
	}
}

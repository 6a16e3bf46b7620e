package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		name   string
		inputs []string
		want   string
	}{
		{
			name: "the forms of one GitHub repository normalize alike",
			inputs: []string{
				"https://github.com/Mesh-Org/mesh-config.git",
				"https://x-access-token:ghs_secret@github.com/Mesh-Org/mesh-config.git",
				"https://ghp_token@github.com/Mesh-Org/mesh-config",
				"http://github.com/Mesh-Org/mesh-config",
				"https://GitHub.COM/Mesh-Org/mesh-config/",
				"https://github.com:443/Mesh-Org/mesh-config.git/",
				"ssh://git@github.com:22/Mesh-Org/mesh-config.git",
				"ssh://git@github.com/Mesh-Org/mesh-config",
				"git@github.com:Mesh-Org/mesh-config.git",
				"git@GITHUB.com:/Mesh-Org/mesh-config.git",
				"github.com:Mesh-Org/mesh-config",
				"git://github.com/Mesh-Org/mesh-config.git",
				"https://github.com/Mesh-Org/mesh-config.git?ref=main#readme",
				"  https://github.com//Mesh-Org/mesh-config.git  ",
				"github.com/Mesh-Org/mesh-config",
			},
			want: "github.com/Mesh-Org/mesh-config",
		},
		{
			name: "a non-default port is kept",
			inputs: []string{
				"ssh://git@gitlab.example.com:2222/platform/mesh/mesh-config.git",
				"ssh://deploy:pw@GitLab.example.com:2222/platform/mesh/mesh-config/",
			},
			want: "gitlab.example.com:2222/platform/mesh/mesh-config",
		},
		{
			name: "local paths and file URLs normalize to the cleaned path",
			inputs: []string{
				"file:///tmp/x",
				"file:///tmp/x.git",
				"file:///tmp/x/",
				"/tmp/x",
				"/tmp/./x.git/",
			},
			want: "/tmp/x",
		},
		{
			name:   "an IPv6 host keeps its brackets without its default port",
			inputs: []string{"https://[::1]:443/org/repo.git", "https://[::1]/org/repo"},
			want:   "[::1]/org/repo",
		},
		{
			name:   "an IPv6 host keeps a non-default port",
			inputs: []string{"http://[::1]:8080/org/repo.git"},
			want:   "[::1]:8080/org/repo",
		},
		{
			name:   "a Windows drive is a path, not an scp-like host",
			inputs: []string{`C:\repos\x`},
			want:   `C:\repos\x`,
		},
		{
			name:   "an empty URL stays empty",
			inputs: []string{"", "   "},
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, in := range tt.inputs {
				if diff := cmp.Diff(tt.want, NormalizeURL(in)); diff != "" {
					t.Errorf("NormalizeURL(%q) mismatch (-want +got):\n%s", in, diff)
				}
			}
		})
	}
}

func TestNormalizeURLKeepsDistinctRepositoriesApart(t *testing.T) {
	base := NormalizeURL("https://github.com/mesh-org/mesh-config.git")
	for _, other := range []string{
		"https://github.com/mesh-org/mesh-config2",
		"https://github.com/mesh-org/Mesh-Config",
		"https://gitlab.com/mesh-org/mesh-config",
		"https://github.com/other/mesh-config",
		"https://github.com:8443/mesh-org/mesh-config",
		"https://github.com/mesh-org",
	} {
		t.Run(other+" differs", func(t *testing.T) {
			if got := NormalizeURL(other); got == base {
				t.Errorf("NormalizeURL(%q) = %q, same as for https://github.com/mesh-org/mesh-config.git", other, got)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"an https URL loses its user and password", "https://deploy:hunter2@git.example.com/mesh/config.git", "https://git.example.com/mesh/config.git"},
		{"an https URL loses a token used as user name", "https://ghp_token@github.com/o/r", "https://github.com/o/r"},
		{"an ssh URL keeps its user and loses its password", "ssh://git:hunter2@host:2222/o/r.git", "ssh://git@host:2222/o/r.git"},
		{"an scp-like address keeps its user and loses its password", "git:hunter2@host:o/r.git", "git@host:o/r.git"},
		{"an scp-like address without a password is unchanged", "git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"a URL without credentials is unchanged", "https://github.com/o/r?x=a@b", "https://github.com/o/r?x=a@b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, redactURL(tt.in)); diff != "" {
				t.Errorf("redactURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestMatchKey(t *testing.T) {
	base := MatchKey("https://github.com/mesh-org/mesh-config")
	tests := []struct {
		url  string
		same bool
	}{
		{"https://github.com/Mesh-Org/Mesh-Config.git", true},
		{"git@GitHub.com:MESH-ORG/mesh-config.git", true},
		{"https://github.com/mesh-org/mesh-config2", false},
		{"https://github.com/other/mesh-config", false},
	}
	for _, tt := range tests {
		if got := MatchKey(tt.url) == base; got != tt.same {
			t.Errorf("MatchKey(%q) == MatchKey(https://github.com/mesh-org/mesh-config): %t, want %t", tt.url, got, tt.same)
		}
	}
}

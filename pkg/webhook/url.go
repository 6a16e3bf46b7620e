package webhook

import (
	"net"
	"path"
	"strings"
)

// defaultPorts are dropped by NormalizeURL, so that "ssh://git@host:22/x"
// and "git@host:x" compare equal; other ports are kept.
var defaultPorts = map[string]string{
	"http":    "80",
	"https":   "443",
	"ssh":     "22",
	"git+ssh": "22",
	"ssh+git": "22",
	"git":     "9418",
}

// NormalizeURL reduces a repo URL to a comparable form (host/path,
// lower-case host, no scheme, no credentials, no ".git" suffix, no trailing
// slash; scp-like git@host:org/repo → host/org/repo) so the controller can
// match Event.RepoURLs against IntentSync.spec.source.url.
//
// The scheme's default port is dropped and any other port kept
// ("host:2222/org/repo"); the query and fragment are dropped; the path is
// cleaned but keeps its case, since hosts differ on whether paths are
// case-sensitive. A local path or file:// URL has no host and normalizes to
// its cleaned path ("/tmp/x"). NormalizeURL never fails: input it cannot
// make sense of comes back trimmed, which compares equal only to itself.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	var scheme, authority, p string
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		authority, p = rest[:end], rest[end:]
		if q := strings.IndexAny(p, "?#"); q >= 0 {
			p = p[:q]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			authority = authority[at+1:]
		}
	} else if _, host, rest, ok := splitSCP(s); ok {
		scheme, authority, p = "ssh", host, "/"+strings.TrimPrefix(rest, "/")
	} else {
		p = s
	}
	host := strings.ToLower(authority)
	if h, port, err := net.SplitHostPort(host); err == nil && port == defaultPorts[scheme] {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	if p != "" {
		p = path.Clean(p)
	}
	p = strings.TrimSuffix(p, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimSuffix(p, "/")
	return host + p
}

// MatchKey is the key by which pushes are matched to IntentSyncs: the
// NormalizeURL of a repository URL, case-folded. GitHub and GitLab ignore
// the case of repository paths, so a push may name the repository in
// another case than an IntentSync does; on a host whose paths are
// case-sensitive, a push matched only by case costs one early fetch, which
// finds its revision unchanged, whereas a missed push waits for the poll.
func MatchKey(raw string) string {
	return strings.ToLower(NormalizeURL(raw))
}

// splitSCP splits git's scp-like address "[userinfo@]host:path". A string
// with a scheme, no colon before its first slash, or a one-letter "host"
// (a Windows drive) is not one.
func splitSCP(s string) (userinfo, host, rest string, ok bool) {
	if strings.Contains(s, "://") {
		return "", "", "", false
	}
	head := s
	if slash := strings.IndexByte(s, '/'); slash >= 0 {
		head = s[:slash]
	}
	at := strings.LastIndexByte(head, '@')
	colon := strings.IndexByte(head[at+1:], ':')
	if colon < 0 {
		return "", "", "", false
	}
	colon += at + 1
	host = s[at+1 : colon]
	if host == "" || (at < 0 && len(host) == 1) {
		return "", "", "", false
	}
	if at >= 0 {
		userinfo = s[:at]
	}
	return userinfo, host, s[colon+1:], true
}

// redactURL removes credentials from a URL: the whole userinfo for http(s)
// and other schemes, where a user name may be a token, and only the
// password for SSH, where the user name is part of the address.
func redactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme := strings.ToLower(raw[:i])
		rest := raw[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		at := strings.LastIndexByte(rest[:end], '@')
		if at < 0 {
			return raw
		}
		user, _, _ := strings.Cut(rest[:at], ":")
		if defaultPorts[scheme] != "22" || user == "" {
			return raw[:i+3] + rest[at+1:]
		}
		return raw[:i+3] + user + "@" + rest[at+1:]
	}
	if userinfo, host, rest, ok := splitSCP(raw); ok && userinfo != "" {
		user, _, _ := strings.Cut(userinfo, ":")
		return user + "@" + host + ":" + rest
	}
	return raw
}

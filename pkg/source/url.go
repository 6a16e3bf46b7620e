package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// source is a parsed Options.URL.
type source struct {
	// display is the URL without credentials, for messages and artifacts.
	display string
	// endpoint is what go-git connects to; it never holds a password.
	endpoint string
	// key names the cache directory of the repository.
	key string
	// protocol is "file", "http", "https", "ssh" or "git".
	protocol string
	// host and port locate the server; empty for local repositories.
	host string
	port int
	// user and password come from the URL's userinfo.
	user, password string
}

// parseSource parses a local path or a remote URL.
func parseSource(raw string) (*source, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("url is empty")
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid url: %w", err)
	}
	s := &source{
		protocol: ep.Protocol,
		host:     ep.Host,
		port:     ep.Port,
		user:     ep.User,
		password: ep.Password,
	}
	switch ep.Protocol {
	case "file":
		path, err := filepath.Abs(ep.Path)
		if err != nil {
			return nil, fmt.Errorf("resolve local path: %w", err)
		}
		s.display = displayURL(raw)
		s.endpoint = path
		s.key = cacheKey("file://" + filepath.ToSlash(path))
		s.user, s.password = "", ""
		return s, nil
	case "http", "https", "git", "ssh":
		s.display = displayURL(raw)
		if ep.Protocol == "ssh" {
			// In an scp-like address go-git leaves "user:password" in User.
			s.user, _, _ = strings.Cut(ep.User, ":")
			s.password = ""
		}
	default:
		return nil, fmt.Errorf("unsupported url scheme %q", ep.Protocol)
	}
	if ep.Host == "" {
		return nil, errors.New("url has no host")
	}
	s.endpoint = s.display
	s.key = cacheKey(s.display)
	return s, nil
}

// cacheKey hashes a credential-free URL into a directory name.
func cacheKey(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:16])
}

// isLoopback reports whether host names the local machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// displayURL strips credentials from raw, whatever its form. The user name
// is kept for SSH, where it is not a secret but part of the address.
func displayURL(raw string) string {
	scheme, _, hasScheme := strings.Cut(raw, "://")
	return stripUserinfo(raw, !hasScheme || strings.EqualFold(scheme, "ssh"))
}

// stripUserinfo removes the password, and the user name unless keepUser,
// from a URL or an scp-like address. Anything else is returned as is.
func stripUserinfo(raw string, keepUser bool) string {
	prefix, authority, rest, ok := splitAuthority(raw)
	if !ok {
		return raw
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, _ := strings.Cut(authority[:at], ":")
	host := authority[at+1:]
	if keepUser && user != "" {
		return prefix + user + "@" + host + rest
	}
	return prefix + host + rest
}

// urlUserinfo returns the user and the raw (still escaped) password in raw.
func urlUserinfo(raw string) (user, password string) {
	_, authority, _, ok := splitAuthority(raw)
	if !ok {
		return "", ""
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return "", ""
	}
	user, password, _ = strings.Cut(authority[:at], ":")
	return user, password
}

func unescapeUserinfo(s string) (string, error) {
	return url.PathUnescape(s)
}

// splitAuthority splits "scheme://authority/rest" or the scp-like
// "user@host:path" into the part before the authority, the authority and
// the rest.
func splitAuthority(raw string) (prefix, authority, rest string, ok bool) {
	if i := strings.Index(raw, "://"); i >= 0 {
		after := raw[i+3:]
		end := strings.IndexAny(after, "/?#")
		if end < 0 {
			end = len(after)
		}
		return raw[:i+3], after[:end], after[end:], true
	}
	// scp-like: the userinfo ends at the last '@' before the first '/'.
	head := raw
	if slash := strings.Index(raw, "/"); slash >= 0 {
		head = raw[:slash]
	}
	at := strings.LastIndex(head, "@")
	if at < 0 {
		return "", "", "", false
	}
	colon := strings.Index(raw[at:], ":")
	if colon < 0 {
		return "", "", "", false
	}
	return "", raw[:at+colon], raw[at+colon:], true
}

// validateRef checks that at most one field of r is set and that it is
// well formed.
func validateRef(r Ref) error {
	set := 0
	for _, v := range []string{r.Branch, r.Tag, r.Commit} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return errors.New("set at most one of branch, tag and commit")
	}
	switch {
	case r.Commit != "":
		if len(r.Commit) != 40 || strings.Trim(r.Commit, "0123456789abcdef") != "" {
			return fmt.Errorf("commit %q is not a full 40-character hex sha", r.Commit)
		}
	case r.Branch != "":
		if !validRefName(r.Branch) {
			return fmt.Errorf("invalid branch name %q", r.Branch)
		}
	case r.Tag != "":
		if !validRefName(r.Tag) {
			return fmt.Errorf("invalid tag name %q", r.Tag)
		}
	}
	return nil
}

// validRefName applies the rules of git check-ref-format that matter for
// refspecs and paths.
func validRefName(name string) bool {
	if name == "" || name == "@" || strings.HasPrefix(name, "-") ||
		strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") ||
		strings.Contains(name, "..") || strings.Contains(name, "//") ||
		strings.Contains(name, "@{") || strings.Contains(name, "/.") || strings.HasPrefix(name, ".") {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	return true
}

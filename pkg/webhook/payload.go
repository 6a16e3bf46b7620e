package webhook

import (
	"encoding/hex"
	"errors"
	"strings"
)

var (
	errNoSignature  = errors.New("no signature")
	errBadSignature = errors.New("signature is not sha256=<64 hex digits>")
)

// parseSignature decodes a "sha256=<hex>" header value. It returns
// errNoSignature for an empty value and errBadSignature for anything that
// cannot be an HMAC-SHA256.
func parseSignature(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, errNoSignature
	}
	digits, ok := strings.CutPrefix(v, "sha256=")
	if !ok || len(digits) != 2*32 {
		return nil, errBadSignature
	}
	mac, err := hex.DecodeString(digits)
	if err != nil {
		return nil, errBadSignature
	}
	return mac, nil
}

// splitRef turns "refs/heads/x" into a branch and "refs/tags/x" into a tag;
// other refs give neither.
func splitRef(ref string) (branch, tag string) {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b, ""
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return "", t
	}
	return "", ""
}

// commitSHA returns sha, or "" for the all-zero SHA that stands for a
// deleted ref.
func commitSHA(sha string) string {
	if strings.Trim(sha, "0") == "" {
		return ""
	}
	return sha
}

// repoURLs returns the non-empty urls without duplicates and without
// passwords, in order.
func repoURLs(urls ...string) []string {
	var out []string
	seen := make(map[string]bool, len(urls))
	for _, u := range urls {
		u = redactURL(strings.TrimSpace(u))
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

// payloadError is a payload that decodes but cannot be used; its message is
// safe to return to the sender.
type payloadError string

func (e payloadError) Error() string { return string(e) }

// errNoRepoURL is a push that does not say which repository it is for.
const errNoRepoURL = payloadError("no repository URL")

// clientMessage is the 400 answer for a decoding error: a payloadError's
// own text, and nothing from the JSON decoder, whose messages are not ours
// to keep stable.
func clientMessage(err error) string {
	if pe, ok := errors.AsType[payloadError](err); ok {
		return "malformed payload: " + string(pe)
	}
	return "malformed payload: invalid JSON"
}

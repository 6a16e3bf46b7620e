package gitfixture

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
)

// GitHubSignature is the X-Hub-Signature-256 header GitHub sends with a
// webhook delivery of body: the HMAC-SHA256 of body keyed with secret.
func GitHubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body) // a hash.Hash never fails to write
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// PostGitHubPush posts body to url as GitHub delivers a push event (the
// event, delivery and signature headers, signed with secret), and returns
// the status code and up to 1 KiB of the answer.
func PostGitHubPush(ctx context.Context, url, secret, delivery string, body []byte) (status int, answer string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", GitHubSignature(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("posting a push event to %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("reading the answer to a push event: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

package badinput

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/webhook"
)

const webhookSecret = "bad-input webhook secret"

const githubPush = `{"ref": "refs/heads/main", "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
 "repository": {"clone_url": "https://github.com/Mesh-Org/mesh-config.git"}}`

const genericPush = `{"url": "https://git.example.com/mesh/config.git", "branch": "main"}`

func hmacSHA256(secret string, parts ...string) string {
	h := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		_, _ = io.WriteString(h, p) // a hash.Hash never fails to write
	}
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// hookRequest is one delivery to the receiver.
type hookRequest struct {
	path    string
	header  map[string]string
	body    string
	chunked bool // send without Content-Length
}

func githubRequest(signature, delivery, body string) hookRequest {
	h := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery}
	if signature != "" {
		h["X-Hub-Signature-256"] = signature
	}
	return hookRequest{path: webhook.PathGitHub, header: h, body: body}
}

func genericRequest(secret string, sent time.Time, body string) hookRequest {
	ts := strconv.FormatInt(sent.Unix(), 10)
	return hookRequest{path: webhook.PathGeneric, body: body, header: map[string]string{
		"Content-Type":          "application/json",
		webhook.HeaderTimestamp: ts,
		webhook.HeaderSignature: hmacSHA256(secret, ts, ".", body),
	}}
}

// TestBadWebhookDeliveriesTriggerNothing sends unsigned, mis-signed, stale,
// replayed and oversized deliveries to the push receiver over real HTTP:
// each is refused with its status and none wakes an IntentSync (a replay's
// first, genuine delivery does, once).
func TestBadWebhookDeliveriesTriggerNothing(t *testing.T) {
	now := time.Now()
	signedPush := githubRequest(hmacSHA256(webhookSecret, githubPush), "delivery-1", githubPush)
	oversized := strings.Repeat(" ", int(webhook.DefaultMaxBodyBytes)) + githubPush
	tests := []struct {
		name     string
		reqs     []hookRequest
		statuses []int
		triggers int64
	}{{
		name:     "a GitHub push without a signature",
		reqs:     []hookRequest{githubRequest("", "d", githubPush)},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a GitHub push signed with another secret",
		reqs:     []hookRequest{githubRequest(hmacSHA256("not the secret", githubPush), "d", githubPush)},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a GitHub push whose body changed after signing",
		reqs:     []hookRequest{githubRequest(hmacSHA256(webhookSecret, githubPush), "d", strings.Replace(githubPush, "main", "evil", 1))},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a GitHub push with a malformed signature",
		reqs:     []hookRequest{githubRequest("sha1=deadbeef", "d", githubPush)},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a GitHub delivery replayed",
		reqs:     []hookRequest{signedPush, signedPush},
		statuses: []int{http.StatusAccepted, http.StatusConflict},
		triggers: 1,
	}, {
		name:     "a signed GitHub push over the size limit",
		reqs:     []hookRequest{githubRequest(hmacSHA256(webhookSecret, oversized), "d", oversized)},
		statuses: []int{http.StatusRequestEntityTooLarge},
	}, {
		name: "a signed GitHub push over the size limit, streamed without a length",
		reqs: []hookRequest{func() hookRequest {
			r := githubRequest(hmacSHA256(webhookSecret, oversized), "d", oversized)
			r.chunked = true
			return r
		}()},
		statuses: []int{http.StatusRequestEntityTooLarge},
	}, {
		name: "a GitLab push with the wrong token",
		reqs: []hookRequest{{path: webhook.PathGitLab, body: `{"ref": "refs/heads/main"}`, header: map[string]string{
			"X-Gitlab-Token": "guess", "X-Gitlab-Event": "Push Hook"}}},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a generic push signed with another secret",
		reqs:     []hookRequest{genericRequest("not the secret", now, genericPush)},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name:     "a generic push signed an hour ago",
		reqs:     []hookRequest{genericRequest(webhookSecret, now.Add(-time.Hour), genericPush)},
		statuses: []int{http.StatusUnauthorized},
	}, {
		name: "a generic push replayed",
		reqs: []hookRequest{
			genericRequest(webhookSecret, now, genericPush),
			genericRequest(webhookSecret, now, genericPush),
		},
		statuses: []int{http.StatusAccepted, http.StatusConflict},
		triggers: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var triggered atomic.Int64
			recv, err := webhook.NewReceiver(webhook.Options{Secret: []byte(webhookSecret)}, func(context.Context, webhook.Event) int {
				triggered.Add(1)
				return 1
			})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(recv)
			defer srv.Close()
			var statuses []int
			for _, r := range tc.reqs {
				statuses = append(statuses, send(t, srv, r))
			}
			if diff := cmp.Diff(tc.statuses, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if got := triggered.Load(); got != tc.triggers {
				t.Errorf("the trigger fired %d times, want %d", got, tc.triggers)
			}
		})
	}
}

func send(t *testing.T, srv *httptest.Server, r hookRequest) int {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(body) // hides the length
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", r.path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse; only the status matters
	return resp.StatusCode
}

package webhook

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// githubRequest is a GitHub delivery of body with the given signature.
func githubRequest(event, delivery, signature, body string) request {
	return providerRequest(PathGitHub, "GitHub-Hookshot/a1b2c3d", body,
		headerGitHubEvent, event, headerGitHubDelivery, delivery, headerGitHubSignature, signature)
}

// signedGitHub is a GitHub delivery of body signed with the test secret.
func signedGitHub(event, delivery, body string) request {
	return githubRequest(event, delivery, hubSignature(testSecret, body), body)
}

func TestGitHub(t *testing.T) {
	push := fixture(t, "github-push.json")
	const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"

	form := "payload=" + url.QueryEscape(push)
	formRequest := signedGitHub("push", delivery, form)
	formRequest.header["Content-Type"] = "application/x-www-form-urlencoded"

	tampered := signedGitHub("push", delivery, push)
	tampered.body = strings.Replace(push, "refs/heads/main", "refs/heads/prod", 1)

	runReceiverCases(t, append(commonCases(func(body string) request { return signedGitHub("push", delivery, body) }, push), []receiverCase{
		{
			name: "a signed push to a branch triggers with its branch, commit and URLs",
			reqs: []request{signedGitHub("push", delivery, push)},
			want: accepted(githubPushEvent(githubPushCommit, delivery)),
		},
		{
			name: "a signed tag push triggers with the tag and no branch",
			reqs: []request{signedGitHub("push", delivery, fixture(t, "github-tag.json"))},
			want: accepted(Event{
				Provider:   "github",
				RepoURLs:   githubRepoURLs,
				Tag:        "v1.4.0",
				Commit:     "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
				DeliveryID: delivery,
			}),
		},
		{
			name: "a branch deletion triggers without a commit",
			reqs: []request{signedGitHub("push", delivery, fixture(t, "github-delete.json"))},
			want: accepted(Event{
				Provider:   "github",
				RepoURLs:   githubRepoURLs,
				Branch:     "feature/canary",
				DeliveryID: delivery,
			}),
		},
		{
			name: "a form-encoded push is signed over the form and decoded from its payload field",
			reqs: []request{formRequest},
			want: accepted(githubPushEvent(githubPushCommit, delivery)),
		},
		{
			name: "a push without a signature is refused",
			reqs: []request{githubRequest("push", delivery, "", push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "missing X-Hub-Signature-256 header\n")},
		},
		{
			name: "a push signed with another secret is refused",
			reqs: []request{githubRequest("push", delivery, hubSignature("not the secret", push), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a push whose body changed after signing is refused",
			reqs: []request{tampered},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a signature that is not sha256 hex is refused",
			reqs: []request{githubRequest("push", delivery, "sha1="+hmacHex(testSecret, push)[:40], push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a delivery received twice triggers once",
			reqs: []request{
				signedGitHub("push", delivery, push),
				signedGitHub("push", delivery, push),
			},
			want: replayedOnce(githubPushEvent(githubPushCommit, delivery)),
		},
		{
			name: "a push that names no repository is a bad request",
			reqs: []request{signedGitHub("push", delivery, `{"ref": "refs/heads/main", "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: no repository URL\n")},
		},
		{
			name: "a delivery without an event header is a bad request",
			reqs: []request{signedGitHub("", delivery, push)},
			want: exchange{Responses: only(http.StatusBadRequest, "missing X-GitHub-Event header\n")},
		},
		{
			name: "a ping is answered with pong",
			reqs: []request{signedGitHub("ping", delivery, fixture(t, "github-ping.json"))},
			want: exchange{Responses: only(http.StatusOK, "pong\n")},
		},
		{
			name: "an unsigned ping is refused",
			reqs: []request{githubRequest("ping", delivery, "", fixture(t, "github-ping.json"))},
			want: exchange{Responses: only(http.StatusUnauthorized, "missing X-Hub-Signature-256 header\n")},
		},
		{
			name: "events other than pushes are ignored",
			reqs: []request{signedGitHub("pull_request", delivery, `{"action": "opened"}`)},
			want: exchange{Responses: only(http.StatusAccepted, "ignored: not a push event\n")},
		},
	}...))
}

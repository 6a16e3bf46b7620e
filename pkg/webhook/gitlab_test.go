package webhook

import (
	"net/http"
	"testing"
)

// gitlabRequest is a GitLab delivery of body with the given token.
func gitlabRequest(event, delivery, token, body string) request {
	return providerRequest(PathGitLab, "GitLab/17.11.0", body,
		headerGitLabEvent, event, headerGitLabDelivery, delivery, headerGitLabToken, token)
}

func TestGitLab(t *testing.T) {
	push := fixture(t, "gitlab-push.json")
	const delivery = "13792a34-cac6-4fda-95a8-c58e00a3954e"

	pushEvent := gitlabPushEvent(delivery)

	runReceiverCases(t, append(commonCases(func(body string) request { return gitlabRequest("Push Hook", delivery, testSecret, body) }, push), []receiverCase{
		{
			name: "a push with the right token triggers with its branch, commit and URLs",
			reqs: []request{gitlabRequest("Push Hook", delivery, testSecret, push)},
			want: accepted(pushEvent),
		},
		{
			name: "a tag push without after takes its commit from checkout_sha",
			reqs: []request{gitlabRequest("Tag Push Hook", delivery, testSecret, fixture(t, "gitlab-tag.json"))},
			want: accepted(Event{
				Provider:   "gitlab",
				RepoURLs:   gitlabRepoURLs,
				Tag:        "v2026.05.1",
				Commit:     "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
				DeliveryID: delivery,
			}),
		},
		{
			name: "a push without a token is refused",
			reqs: []request{gitlabRequest("Push Hook", delivery, "", push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "missing X-Gitlab-Token header\n")},
		},
		{
			name: "a push with another token is refused",
			reqs: []request{gitlabRequest("Push Hook", delivery, "correct horse battery stapler", push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid token\n")},
		},
		{
			name: "a push with a prefix of the token is refused",
			reqs: []request{gitlabRequest("Push Hook", delivery, testSecret[:len(testSecret)-1], push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid token\n")},
		},
		{
			name: "a delivery received twice triggers once",
			reqs: []request{
				gitlabRequest("Push Hook", delivery, testSecret, push),
				gitlabRequest("Push Hook", delivery, testSecret, push),
			},
			want: replayedOnce(pushEvent),
		},
		{
			name: "deliveries without an event UUID are deduplicated by their body",
			reqs: []request{
				gitlabRequest("Push Hook", "", testSecret, push),
				gitlabRequest("Push Hook", "", testSecret, push),
			},
			want: replayedOnce(Event{Provider: "gitlab", RepoURLs: gitlabRepoURLs, Branch: "release/2026.05", Commit: pushEvent.Commit}),
		},
		{
			name: "a push that names no repository is a bad request",
			reqs: []request{gitlabRequest("Push Hook", delivery, testSecret, `{"ref": "refs/heads/main", "project": {}}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: no repository URL\n")},
		},
		{
			name: "events other than pushes are ignored",
			reqs: []request{gitlabRequest("Merge Request Hook", delivery, testSecret, `{"object_kind": "merge_request"}`)},
			want: exchange{Responses: only(http.StatusAccepted, "ignored: not a push event\n")},
		},
	}...))
}

package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// genericRequest is a generic delivery of body with the given headers;
// empty ones are left out.
func genericRequest(timestamp, signature, body string) request {
	h := map[string]string{"Content-Type": "application/json"}
	if timestamp != "" {
		h[HeaderTimestamp] = timestamp
	}
	if signature != "" {
		h[HeaderSignature] = signature
	}
	return request{path: PathGeneric, header: h, body: body}
}

// signedGeneric is a generic delivery of body sent at t and signed with
// the test secret.
func signedGeneric(t time.Time, body string) request {
	ts := unix(t)
	return genericRequest(ts, genericSignature(testSecret, ts, body), body)
}

func TestGeneric(t *testing.T) {
	const (
		push   = `{"url": "https://git.example.com/mesh/config.git", "branch": "main", "commit": "4a1f0c9e"}`
		commit = "4a1f0c9e"
	)
	window := DefaultReplayWindow
	now := unix(testNow)
	sig := genericSignature(testSecret, now, push)
	deliveryID := strings.TrimPrefix(sig, "sha256=")

	pushEvent := Event{
		Provider:   "generic",
		RepoURLs:   []string{"https://git.example.com/mesh/config.git"},
		Branch:     "main",
		Commit:     commit,
		DeliveryID: deliveryID,
	}

	tag := `{"url": "git@git.example.com:mesh/config.git", "tag": "v3"}`
	creds := `{"url": "https://deploy:hunter2@git.example.com/mesh/config.git", "branch": "main"}`

	upperSig := "sha256=" + strings.ToUpper(deliveryID)

	inFuture := signedGeneric(testNow.Add(window), push)
	futureEvent := pushEvent
	futureEvent.DeliveryID = strings.TrimPrefix(inFuture.header[HeaderSignature], "sha256=")
	afterWindow := inFuture
	afterWindow.advance = window + time.Second

	runReceiverCases(t, append(commonCases(func(body string) request { return signedGeneric(testNow, body) }, push), []receiverCase{
		{
			name: "a signed push to a branch triggers with its branch, commit and URL",
			reqs: []request{genericRequest(now, sig, push)},
			want: accepted(pushEvent),
		},
		{
			name: "a signed tag push triggers with the tag",
			reqs: []request{signedGeneric(testNow, tag)},
			want: accepted(Event{Provider: "generic", RepoURLs: []string{"git@git.example.com:mesh/config.git"}, Tag: "v3",
				DeliveryID: hmacHex(testSecret, now, ".", tag)}),
		},
		{
			name: "credentials in the URL do not reach the event",
			reqs: []request{signedGeneric(testNow, creds)},
			want: accepted(Event{Provider: "generic", RepoURLs: []string{"https://git.example.com/mesh/config.git"}, Branch: "main",
				DeliveryID: hmacHex(testSecret, now, ".", creds)}),
		},
		{
			name: "a push without a signature is refused",
			reqs: []request{genericRequest(now, "", push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "missing X-Meshintent-Timestamp or X-Meshintent-Signature header\n")},
		},
		{
			name: "a push without a timestamp is refused",
			reqs: []request{genericRequest("", sig, push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "missing X-Meshintent-Timestamp or X-Meshintent-Signature header\n")},
		},
		{
			name: "a push signed with another secret is refused",
			reqs: []request{genericRequest(now, genericSignature("not the secret", now, push), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a push whose body changed after signing is refused",
			reqs: []request{genericRequest(now, sig, strings.Replace(push, "main", "prod", 1))},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a push whose timestamp changed after signing is refused",
			reqs: []request{genericRequest(unix(testNow.Add(-time.Second)), sig, push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a signature over the body alone is refused",
			reqs: []request{genericRequest(now, hubSignature(testSecret, push), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid signature\n")},
		},
		{
			name: "a timestamp that is not a number is refused",
			reqs: []request{genericRequest("yesterday", sig, push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "invalid timestamp\n")},
		},
		{
			name: "a timestamp older than the window is refused",
			reqs: []request{signedGeneric(testNow.Add(-window-time.Second), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "timestamp outside the accepted window\n")},
		},
		{
			name: "a timestamp further ahead than the window is refused",
			reqs: []request{signedGeneric(testNow.Add(window+time.Second), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "timestamp outside the accepted window\n")},
		},
		{
			name: "a timestamp exactly one window old is accepted",
			reqs: []request{signedGeneric(testNow.Add(-window), push)},
			want: accepted(Event{
				Provider:   "generic",
				RepoURLs:   pushEvent.RepoURLs,
				Branch:     "main",
				Commit:     commit,
				DeliveryID: hmacHex(testSecret, unix(testNow.Add(-window)), ".", push),
			}),
		},
		{
			name: "an absurd timestamp is refused without overflowing",
			reqs: []request{signedGeneric(time.Unix(1<<62, 0), push)},
			want: exchange{Responses: only(http.StatusUnauthorized, "timestamp outside the accepted window\n")},
		},
		{
			name: "a delivery received twice triggers once",
			reqs: []request{genericRequest(now, sig, push), genericRequest(now, sig, push)},
			want: replayedOnce(pushEvent),
		},
		{
			name: "a replay with the signature in upper case is still a replay",
			reqs: []request{genericRequest(now, sig, push), genericRequest(now, upperSig, push)},
			want: replayedOnce(pushEvent),
		},
		{
			name: "a future-dated delivery is remembered for as long as its timestamp is accepted",
			reqs: []request{inFuture, afterWindow},
			want: replayedOnce(futureEvent),
		},
		{
			name: "an unknown field is a bad request",
			reqs: []request{signedGeneric(testNow, `{"url": "https://git.example.com/mesh/config", "brnach": "main"}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: invalid JSON\n")},
		},
		{
			name: "data after the object is a bad request",
			reqs: []request{signedGeneric(testNow, `{"url": "https://git.example.com/mesh/config"} {}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: invalid JSON\n")},
		},
		{
			name: "a push without a URL is a bad request",
			reqs: []request{signedGeneric(testNow, `{"branch": "main"}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: no repository URL\n")},
		},
		{
			name: "a push with both a branch and a tag is a bad request",
			reqs: []request{signedGeneric(testNow, `{"url": "https://git.example.com/mesh/config", "branch": "main", "tag": "v3"}`)},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: both branch and tag set\n")},
		},
	}...))
}

package webhook

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
)

// serveGitHub handles PathGitHub. GitHub signs the body only: the event and
// delivery headers are trusted once the body is authenticated, and replays
// are recognised by the body's digest (see Receiver).
func (r *Receiver) serveGitHub(w http.ResponseWriter, req *http.Request) {
	const provider = providerGitHub

	// Check the signature header before reading the body.
	mac, err := parseSignature(req.Header.Get(headerGitHubSignature))
	if errors.Is(err, errNoSignature) {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonUnsigned, "missing "+headerGitHubSignature+" header", nil)
		return
	}
	if err != nil {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonBadSignature, "invalid signature", err)
		return
	}

	// Read the body and verify its signature.
	body, ok := r.readSigned(w, req, provider, mac)
	if !ok {
		return
	}

	// Answer pings and skip events other than pushes.
	if event := req.Header.Get(headerGitHubEvent); event == "ping" {
		r.ignore(w, req, provider, event, http.StatusOK, "pong")
		return
	}
	if !r.isPush(w, req, provider, headerGitHubEvent, "push") {
		return
	}

	// Decode the push and trigger.
	ev, err := decodeGitHub(req.Header.Get("Content-Type"), body)
	if !r.decoded(w, req, provider, err) {
		return
	}
	ev.DeliveryID = req.Header.Get(headerGitHubDelivery)
	r.deliver(w, req, ev, sha256.Sum256(body), r.now().Add(r.window))
}

// githubPush is the part of a GitHub push event the receiver uses.
type githubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		GitURL   string `json:"git_url"`
		HTMLURL  string `json:"html_url"`
		URL      string `json:"url"`
	} `json:"repository"`
}

// decodeGitHub decodes a push event sent as application/json or, when the
// hook is set to application/x-www-form-urlencoded, as the form's "payload"
// field.
func decodeGitHub(contentType string, body []byte) (Event, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return Event{}, fmt.Errorf("decode form: %w", err)
		}
		body = []byte(form.Get("payload"))
	}
	var p githubPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("decode push event: %w", err)
	}
	repo := p.Repository
	ev := Event{
		Provider: providerGitHub,
		RepoURLs: repoURLs(repo.CloneURL, repo.SSHURL, repo.GitURL, repo.HTMLURL, repo.URL),
		Commit:   commitSHA(p.After),
	}
	if len(ev.RepoURLs) == 0 {
		return Event{}, errNoRepoURL
	}
	ev.Branch, ev.Tag = splitRef(p.Ref)
	return ev, nil
}

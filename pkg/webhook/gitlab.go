package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
)

// serveGitLab handles PathGitLab. GitLab sends the secret itself, so the
// token is checked before the body is read; it authenticates the sender
// but not the body.
func (r *Receiver) serveGitLab(w http.ResponseWriter, req *http.Request) {
	const provider = providerGitLab

	// Check the token before reading the body. Comparing digests keeps the
	// comparison constant-time in the secret's length too.
	token := req.Header.Get(headerGitLabToken)
	if token == "" {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonUnsigned, "missing "+headerGitLabToken+" header", nil)
		return
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], r.token[:]) != 1 {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonBadSignature, "invalid token", nil)
		return
	}

	// Read the body.
	body, ok := r.readBody(w, req, provider)
	if !ok {
		return
	}

	// Skip events other than pushes.
	if !r.isPush(w, req, provider, headerGitLabEvent, "Push Hook", "Tag Push Hook") {
		return
	}

	// Decode the push and trigger.
	ev, err := decodeGitLab(body)
	if !r.decoded(w, req, provider, err) {
		return
	}
	ev.DeliveryID = req.Header.Get(headerGitLabDelivery)
	r.deliver(w, req, ev, sha256.Sum256(body), r.now().Add(r.window))
}

// gitlabPush is the part of a GitLab push or tag push event the receiver
// uses.
type gitlabPush struct {
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	Project     struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
		URL        string `json:"url"`
		Homepage   string `json:"homepage"`
	} `json:"project"`
	Repository struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
		URL        string `json:"url"`
	} `json:"repository"`
}

// decodeGitLab decodes a push or tag push event. The commit is "after",
// or "checkout_sha" when "after" is missing.
func decodeGitLab(body []byte) (Event, error) {
	var p gitlabPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("decode push event: %w", err)
	}
	proj, repo := p.Project, p.Repository
	ev := Event{
		Provider: providerGitLab,
		RepoURLs: repoURLs(
			proj.GitHTTPURL, proj.GitSSHURL, proj.WebURL, proj.HTTPURL, proj.SSHURL, proj.URL, proj.Homepage,
			repo.GitHTTPURL, repo.GitSSHURL, repo.Homepage, repo.URL),
		Commit: commitSHA(p.After),
	}
	if len(ev.RepoURLs) == 0 {
		return Event{}, errNoRepoURL
	}
	if p.After == "" {
		ev.Commit = commitSHA(p.CheckoutSHA)
	}
	ev.Branch, ev.Tag = splitRef(p.Ref)
	return ev, nil
}

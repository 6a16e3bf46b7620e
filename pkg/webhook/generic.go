package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// genericPush is the generic endpoint's payload.
type genericPush struct {
	URL    string `json:"url"`
	Branch string `json:"branch"`
	Tag    string `json:"tag"`
	Commit string `json:"commit"`
}

// serveGeneric handles PathGeneric. The signature covers the timestamp and
// the body; a timestamp more than the replay window away from now is
// refused before the body is read.
func (r *Receiver) serveGeneric(w http.ResponseWriter, req *http.Request) {
	const provider = providerGeneric

	// Check the signature headers and the timestamp before reading the body.
	stamp := strings.TrimSpace(req.Header.Get(HeaderTimestamp))
	mac, err := parseSignature(req.Header.Get(HeaderSignature))
	if stamp == "" || errors.Is(err, errNoSignature) {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonUnsigned,
			"missing "+HeaderTimestamp+" or "+HeaderSignature+" header", nil)
		return
	}
	if err != nil {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonBadSignature, "invalid signature", err)
		return
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonBadSignature, "invalid timestamp", err)
		return
	}
	// Sub saturates, so absurd timestamps land outside the window too.
	sent := time.Unix(secs, 0)
	if skew := r.now().Sub(sent); skew > r.window || skew < -r.window {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonStaleTimestamp, "timestamp outside the accepted window", nil,
			slog.Duration("skew", skew))
		return
	}

	// Read the body and verify the signature.
	body, ok := r.readSigned(w, req, provider, mac, []byte(stamp), []byte{'.'})
	if !ok {
		return
	}

	// Decode the push and trigger. The delivery ID is the signature in
	// lower-case hex, so that an upper-cased copy is still a replay; it is
	// remembered for as long as its timestamp would be accepted.
	ev, err := decodeGeneric(body)
	if !r.decoded(w, req, provider, err) {
		return
	}
	ev.DeliveryID = hex.EncodeToString(mac)
	r.deliver(w, req, ev, signedDigest(stamp, body), sent.Add(r.window))
}

// signedDigest is the SHA-256 digest of what a generic signature covers:
// "<timestamp>.<body>".
func signedDigest(stamp string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(stamp))
	h.Write([]byte{'.'})
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// decodeGeneric decodes {"url", "branch", "tag", "commit"} strictly: the
// format is ours, so an unknown field is more likely a typo than an
// extension. The url is required and at most one of branch and tag may be
// set.
func decodeGeneric(body []byte) (Event, error) {
	var p genericPush
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Event{}, fmt.Errorf("decode push event: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, errors.New("decode push event: data after the JSON object")
	}
	switch {
	case strings.TrimSpace(p.URL) == "":
		return Event{}, errNoRepoURL
	case p.Branch != "" && p.Tag != "":
		return Event{}, payloadError("both branch and tag set")
	}
	return Event{
		Provider: providerGeneric,
		RepoURLs: repoURLs(p.URL),
		Branch:   p.Branch,
		Tag:      p.Tag,
		Commit:   p.Commit,
	}, nil
}

package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Routes served by a Receiver. Any other path is answered 404.
const (
	PathGitHub  = "/hooks/github"
	PathGitLab  = "/hooks/gitlab"
	PathGeneric = "/hooks/generic"
)

// Providers, as Event.Provider names them.
const (
	providerGitHub  = "github"
	providerGitLab  = "gitlab"
	providerGeneric = "generic"
)

// Request headers the endpoints read: GitHub signs the body, GitLab sends
// the secret as a token, and the generic endpoint signs a timestamp and the
// body.
const (
	headerGitHubSignature = "X-Hub-Signature-256"
	headerGitHubEvent     = "X-GitHub-Event"
	headerGitHubDelivery  = "X-GitHub-Delivery"

	headerGitLabToken    = "X-Gitlab-Token"
	headerGitLabEvent    = "X-Gitlab-Event"
	headerGitLabDelivery = "X-Gitlab-Event-UUID"

	// HeaderTimestamp carries the generic sender's Unix time in seconds.
	HeaderTimestamp = "X-Meshintent-Timestamp"
	// HeaderSignature carries "sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">".
	HeaderSignature = "X-Meshintent-Signature"
)

// Defaults applied by NewReceiver to zero Options fields.
const (
	DefaultMaxBodyBytes int64 = 1 << 20
	DefaultReplayWindow       = 10 * time.Minute
)

// maxDeliveries bounds the replay cache: it holds the keys of at most this
// many deliveries (two keys each: the body digest and the delivery ID), and
// past it the keys closest to expiry are evicted first.
const maxDeliveries = 10000

// keysPerDelivery is how many replay keys a delivery records at most.
const keysPerDelivery = 2

// Event is a push that may concern some IntentSyncs.
type Event struct {
	// Provider is "github", "gitlab" or "generic".
	Provider string
	// RepoURLs holds every URL form the payload gives for the repository
	// (clone_url, ssh_url, git_http_url, git_ssh_url, html_url...), without
	// duplicates and with any password removed. Compare them to an
	// IntentSync's source URL with NormalizeURL.
	RepoURLs []string
	// Branch comes from a ref "refs/heads/x"; it is empty for tags.
	Branch string
	// Tag comes from a ref "refs/tags/x".
	Tag string
	// Commit is the "after" SHA, when given; empty when the push deleted
	// the ref.
	Commit string
	// DeliveryID is the provider's delivery ID, for logs; for the generic
	// endpoint it is the signature. It may be empty when a GitHub or GitLab
	// request carries none. Replays are recognised by the digest of the
	// signed body, whatever the delivery ID says (see Receiver).
	DeliveryID string
}

// Trigger wakes the IntentSyncs an event concerns and returns how many.
//
// Its context is not cancelled when the sender hangs up: the delivery is
// already recorded as received by then, and a redelivery would be refused.
type Trigger func(ctx context.Context, ev Event) int

// Options configure a Receiver.
type Options struct {
	// Secret is the shared secret: GitHub's HMAC-SHA256 key, GitLab's token,
	// and the generic endpoint's HMAC-SHA256 key. Required.
	Secret []byte
	// MaxBodyBytes caps payloads (default 1 MiB); larger → 413 without
	// calling Trigger.
	MaxBodyBytes int64
	// ReplayWindow: how long deliveries (their body digests and delivery
	// IDs) are remembered (default 10m) and the max clock skew accepted for
	// generic timestamps.
	ReplayWindow time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Logger (log/slog); nil means discard.
	Logger *slog.Logger
}

// Receiver is the push-webhook http.Handler. It is safe for concurrent use.
//
// Replay protection keys on what the signature covers: a delivery whose
// body (for the generic endpoint, timestamp and body) has the SHA-256 digest
// of one accepted within the window is refused with 409, whatever its
// delivery ID, since the delivery ID header is outside GitHub's signature and
// anyone who captured a delivery could resend it under a new ID. The
// delivery ID is an extra key: a different body under an ID accepted within
// the window is refused too, as a genuine sender never reuses an ID. Only
// accepted deliveries record keys, so a replay cannot claim an ID before its
// genuine delivery arrives. GitLab's token authenticates the sender, not the
// body; its deliveries are keyed on the body digest as well, which stops the
// resending of a captured body, but whoever holds the token can send new ones.
// At most maxDeliveries deliveries are remembered, each for ReplayWindow;
// once a delivery is forgotten its body is accepted again, which wakes the
// IntentSyncs it names for one more fetch: the controller applies what the
// branch holds, never the payload.
type Receiver struct {
	secret  []byte
	token   [sha256.Size]byte // digest of secret, for length-blind token checks
	maxBody int64
	window  time.Duration
	now     func() time.Time
	log     *slog.Logger
	trigger Trigger
	replay  *replayCache
	stats   stats
}

var _ http.Handler = (*Receiver)(nil)

// NewReceiver returns a Receiver that calls trigger for each authenticated
// push. It fails if the secret is empty, trigger is nil, or a limit is
// negative; zero limits take their defaults.
func NewReceiver(opts Options, trigger Trigger) (*Receiver, error) {
	switch {
	case len(opts.Secret) == 0:
		return nil, errors.New("webhook secret is empty")
	case trigger == nil:
		return nil, errors.New("webhook trigger is nil")
	case opts.MaxBodyBytes < 0:
		return nil, fmt.Errorf("webhook max body bytes %d is negative", opts.MaxBodyBytes)
	case opts.ReplayWindow < 0:
		return nil, fmt.Errorf("webhook replay window %s is negative", opts.ReplayWindow)
	}
	r := &Receiver{
		// Copied so that the caller reusing its slice cannot change the key.
		secret:  append([]byte(nil), opts.Secret...),
		maxBody: opts.MaxBodyBytes,
		window:  opts.ReplayWindow,
		now:     opts.Now,
		log:     opts.Logger,
		trigger: trigger,
		replay:  newReplayCache(maxDeliveries * keysPerDelivery),
	}
	r.token = sha256.Sum256(r.secret)
	if r.maxBody == 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	if r.window == 0 {
		r.window = DefaultReplayWindow
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// ServeHTTP routes a request to its provider. Unknown paths get 404 and
// methods other than POST 405, before anything else is looked at.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var provider string
	var serve func(http.ResponseWriter, *http.Request)
	switch req.URL.Path {
	case PathGitHub:
		provider, serve = providerGitHub, r.serveGitHub
	case PathGitLab:
		provider, serve = providerGitLab, r.serveGitLab
	case PathGeneric:
		provider, serve = providerGeneric, r.serveGeneric
	default:
		r.reject(w, req, "", http.StatusNotFound, ReasonNotFound, "not found", nil)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, req, provider, http.StatusMethodNotAllowed, ReasonMethodNotAllowed, "method not allowed", nil)
		return
	}
	serve(w, req)
}

// readBody reads the whole body, refusing with 413 one over the limit
// without reading more than limit+1 bytes. On false the reply is written.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, provider string) ([]byte, bool) {
	if req.ContentLength > r.maxBody {
		r.reject(w, req, provider, http.StatusRequestEntityTooLarge, ReasonTooLarge, "payload too large", nil)
		return nil, false
	}
	// MaxBytesReader also tells the server to close the connection rather
	// than drain the rest of an oversized body.
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			r.reject(w, req, provider, http.StatusRequestEntityTooLarge, ReasonTooLarge, "payload too large", nil)
		} else {
			r.reject(w, req, provider, http.StatusBadRequest, ReasonUnreadable, "cannot read payload", err)
		}
		return nil, false
	}
	return body, true
}

// readSigned reads the body like readBody and checks that mac is the
// HMAC-SHA256 of prefix followed by the body, refusing with 401 when it is
// not. On false the reply is written.
func (r *Receiver) readSigned(w http.ResponseWriter, req *http.Request, provider string, mac []byte, prefix ...[]byte) ([]byte, bool) {
	body, ok := r.readBody(w, req, provider)
	if !ok {
		return nil, false
	}
	if !r.validMAC(mac, append(prefix[:len(prefix):len(prefix)], body)...) {
		r.reject(w, req, provider, http.StatusUnauthorized, ReasonBadSignature, "invalid signature", nil)
		return nil, false
	}
	return body, true
}

// isPush reports whether the authenticated delivery's event, the value of
// header, is one of pushes. Otherwise it answers: 400 when the header is
// missing or empty, 202 (ignored) for any other event.
func (r *Receiver) isPush(w http.ResponseWriter, req *http.Request, provider, header string, pushes ...string) bool {
	event := req.Header.Get(header)
	switch {
	case slices.Contains(pushes, event):
		return true
	case event == "":
		r.reject(w, req, provider, http.StatusBadRequest, ReasonMalformed, "missing "+header+" header", nil)
	default:
		r.ignore(w, req, provider, event, http.StatusAccepted, "ignored: not a push event")
	}
	return false
}

// decoded reports whether the push decoded (err is nil), answering 400
// with err's client message when it did not.
func (r *Receiver) decoded(w http.ResponseWriter, req *http.Request, provider string, err error) bool {
	if err != nil {
		r.reject(w, req, provider, http.StatusBadRequest, ReasonMalformed, clientMessage(err), err)
		return false
	}
	return true
}

// validMAC reports whether mac is the HMAC-SHA256 of the concatenated
// parts under the secret.
func (r *Receiver) validMAC(mac []byte, parts ...[]byte) bool {
	h := hmac.New(sha256.New, r.secret)
	for _, p := range parts {
		h.Write(p)
	}
	return hmac.Equal(h.Sum(nil), mac)
}

// deliver refuses a delivery seen before and otherwise calls the trigger.
// signed is the SHA-256 digest of what the request's signature (or GitLab's
// token) covers: it and the delivery ID, when there is one, are remembered
// until expires; a delivery matching either is a replay.
func (r *Receiver) deliver(w http.ResponseWriter, req *http.Request, ev Event, signed [sha256.Size]byte, expires time.Time) {
	keys := []string{ev.Provider + "\x00body\x00" + string(signed[:])}
	if ev.DeliveryID != "" {
		keys = append(keys, ev.Provider+"\x00id\x00"+ev.DeliveryID)
	}
	if !r.replay.add(r.now(), expires, keys...) {
		r.reject(w, req, ev.Provider, http.StatusConflict, ReasonReplayed, "delivery already received", nil,
			slog.String("delivery", ev.DeliveryID))
		return
	}
	n := max(r.trigger(context.WithoutCancel(req.Context()), ev), 0)
	r.stats.accepted(n)
	r.log.LogAttrs(req.Context(), slog.LevelInfo, "webhook push accepted",
		slog.String("provider", ev.Provider),
		slog.String("delivery", ev.DeliveryID),
		slog.Any("repoURLs", ev.RepoURLs),
		slog.String("branch", ev.Branch),
		slog.String("tag", ev.Tag),
		slog.String("commit", ev.Commit),
		slog.Int("woken", n))
	noun := "IntentSyncs"
	if n == 1 {
		noun = "IntentSync"
	}
	reply(w, http.StatusAccepted, fmt.Sprintf("triggered %d %s", n, noun))
}

// ignore answers an authenticated delivery that is not a push.
func (r *Receiver) ignore(w http.ResponseWriter, req *http.Request, provider, event string, status int, msg string) {
	r.stats.ignored()
	r.log.LogAttrs(req.Context(), slog.LevelDebug, "webhook event ignored",
		slog.String("provider", provider), slog.String("event", event))
	reply(w, status, msg)
}

// reject counts, logs and answers a refused request. msg goes to the
// client and must not depend on the secret; err, for the log only, may be
// nil.
func (r *Receiver) reject(w http.ResponseWriter, req *http.Request, provider string, status int, reason Reason, msg string, err error, attrs ...slog.Attr) {
	r.stats.rejected(reason)
	level := slog.LevelInfo
	switch reason {
	case ReasonNotFound, ReasonMethodNotAllowed:
		// Scanners hit these all day.
		level = slog.LevelDebug
	case ReasonBadSignature:
		// A misconfigured secret, or someone forging deliveries.
		level = slog.LevelWarn
	}
	attrs = append(attrs,
		slog.String("provider", provider),
		slog.String("reason", string(reason)),
		slog.Int("status", status),
		slog.String("remote", req.RemoteAddr))
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	r.log.LogAttrs(req.Context(), level, "webhook rejected", attrs...)
	reply(w, status, msg)
}

// reply writes a short plain-text answer.
func reply(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n") // the status is sent; a client gone by now needs no body
}

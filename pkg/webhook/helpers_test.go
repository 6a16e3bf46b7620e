package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testSecret = "correct horse battery staple"

// testNow is the receivers' clock at the start of each case.
var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fixture returns the content of testdata/name.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hmacHex is the hex HMAC-SHA256 of the concatenated parts, computed here
// rather than with the receiver's code.
func hmacHex(secret string, parts ...string) string {
	h := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		h.Write([]byte(p)) // a hash.Hash never returns an error
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hubSignature is GitHub's X-Hub-Signature-256 of body.
func hubSignature(secret, body string) string {
	return "sha256=" + hmacHex(secret, body)
}

// genericSignature is the X-Meshintent-Signature of timestamp and body.
func genericSignature(secret, timestamp, body string) string {
	return "sha256=" + hmacHex(secret, timestamp, ".", body)
}

// unix is t as the generic endpoint's timestamp header.
func unix(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10)
}

// recorder is a Trigger that records its calls and reports waking woken
// IntentSyncs for each.
type recorder struct {
	mu    sync.Mutex
	woken int
	calls []Event
}

func (rec *recorder) trigger(_ context.Context, ev Event) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.calls = append(rec.calls, ev)
	return rec.woken
}

func (rec *recorder) events() []Event {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Event(nil), rec.calls...)
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// request is one HTTP request of a test case.
type request struct {
	method  string // POST when empty
	path    string
	header  map[string]string
	body    string
	chunked bool          // send without a Content-Length
	advance time.Duration // move the receiver's clock before sending
}

// response is what a test compares of an HTTP response.
type response struct {
	Status int
	Body   string
}

// exchange is everything a case observes: the responses in order and the
// trigger's calls.
type exchange struct {
	Responses []response
	Calls     []Event
}

// receiverCase is a table-driven test of a sequence of requests against a
// fresh receiver.
type receiverCase struct {
	name string
	// opts are the receiver's options; Secret defaults to testSecret and
	// Now to a fake clock at testNow.
	opts Options
	reqs []request
	want exchange
}

// providerRequest is a JSON POST of body to path from userAgent, with the
// given header name and value pairs; a pair whose value is empty is left
// out, except the first two (the event and delivery headers), which a
// provider always sends.
func providerRequest(path, userAgent, body string, headerPairs ...string) request {
	h := map[string]string{"Content-Type": "application/json", "User-Agent": userAgent}
	for i := 0; i+1 < len(headerPairs); i += 2 {
		if name, value := headerPairs[i], headerPairs[i+1]; value != "" || i < 4 {
			h[name] = value
		}
	}
	return request{path: path, header: h, body: body}
}

// startReceiver serves a new Receiver over real HTTP on 127.0.0.1; the
// trigger reports waking two IntentSyncs per call.
func startReceiver(t testing.TB, opts Options) (*httptest.Server, *Receiver, *recorder) {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = []byte(testSecret)
	}
	rec := &recorder{woken: 2}
	r, err := NewReceiver(opts, rec.trigger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, r, rec
}

// send makes one request to srv.
func send(t testing.TB, srv *httptest.Server, r request) response {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(r.body)
	if r.chunked {
		// Hide the length, so that the client streams the body chunked.
		body = io.MultiReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return response{Status: resp.StatusCode, Body: string(b)}
}

// runReceiverCases runs each case against its own receiver.
func runReceiverCases(t *testing.T, cases []receiverCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: testNow}
			opts := tc.opts
			if opts.Now == nil {
				opts.Now = clock.Now
			}
			srv, _, rec := startReceiver(t, opts)
			var got exchange
			for _, r := range tc.reqs {
				clock.Advance(r.advance)
				got.Responses = append(got.Responses, send(t, srv, r))
			}
			got.Calls = rec.events()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("exchange mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// only returns its argument, to build an exchange's responses tersely.
func only(status int, body string) []response {
	return []response{{Status: status, Body: body}}
}

// accepted is the exchange of one delivery that triggers with ev.
func accepted(ev Event) exchange {
	return exchange{Responses: []response{triggered}, Calls: []Event{ev}}
}

// replayedOnce is the exchange of a delivery that triggers with ev and a
// replay of it that is refused.
func replayedOnce(ev Event) exchange {
	return exchange{Responses: []response{triggered, replayed}, Calls: []Event{ev}}
}

// commonCases are the cases every provider's endpoint answers alike: a body
// over the limit (by its length, and while reading a chunked one), malformed
// JSON with valid credentials, and a method other than POST. deliver is a
// delivery of body with valid credentials; push is a valid push body.
func commonCases(deliver func(body string) request, push string) []receiverCase {
	limit := Options{MaxBodyBytes: int64(len(push) - 1)}
	chunked := deliver(push)
	chunked.chunked = true
	wrongMethod := deliver(push)
	wrongMethod.method = http.MethodPut
	return []receiverCase{
		{
			name: "a body over the limit is refused by its length",
			opts: limit,
			reqs: []request{deliver(push)},
			want: exchange{Responses: only(http.StatusRequestEntityTooLarge, "payload too large\n")},
		},
		{
			name: "a chunked body over the limit is refused while reading",
			opts: limit,
			reqs: []request{chunked},
			want: exchange{Responses: only(http.StatusRequestEntityTooLarge, "payload too large\n")},
		},
		{
			name: "malformed JSON with valid credentials is a bad request",
			reqs: []request{deliver(push[:len(push)/2])},
			want: exchange{Responses: only(http.StatusBadRequest, "malformed payload: invalid JSON\n")},
		},
		{
			name: "a method other than POST is not allowed",
			reqs: []request{wrongMethod},
			want: exchange{Responses: only(http.StatusMethodNotAllowed, "method not allowed\n")},
		},
	}
}

// The responses the receivers give most often.
var (
	triggered = response{http.StatusAccepted, "triggered 2 IntentSyncs\n"}
	replayed  = response{http.StatusConflict, "delivery already received\n"}
)

// The URL forms the push fixtures name their repository by.
var (
	// githubRepoURLs are the URL forms of the github-*.json fixtures'
	// repository, "url" being a duplicate of "html_url".
	githubRepoURLs = []string{
		"https://github.com/Mesh-Org/mesh-config.git",
		"git@github.com:Mesh-Org/mesh-config.git",
		"git://github.com/Mesh-Org/mesh-config.git",
		"https://github.com/Mesh-Org/mesh-config",
	}

	// gitlabRepoURLs are the distinct URL forms of the gitlab-*.json
	// fixtures' project and repository.
	gitlabRepoURLs = []string{
		"https://gitlab.example.com/platform/mesh/mesh-config.git",
		"ssh://git@gitlab.example.com:2222/platform/mesh/mesh-config.git",
		"https://gitlab.example.com/platform/mesh/mesh-config",
	}
)

// Head commits of the push fixtures.
const (
	githubPushCommit = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" // github-push.json
	gitlabPushCommit = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" // gitlab-push.json
)

// githubPushEvent is the Event of a push of commit to main of the github-*.json
// fixtures' repository.
func githubPushEvent(commit, delivery string) Event {
	return Event{Provider: "github", RepoURLs: githubRepoURLs, Branch: "main", Commit: commit, DeliveryID: delivery}
}

// gitlabPushEvent is the Event of the gitlab-push.json fixture.
func gitlabPushEvent(delivery string) Event {
	return Event{Provider: "gitlab", RepoURLs: gitlabRepoURLs, Branch: "release/2026.05", Commit: gitlabPushCommit, DeliveryID: delivery}
}

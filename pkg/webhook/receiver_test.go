package webhook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewReceiver(t *testing.T) {
	trigger := func(context.Context, Event) int { return 0 }
	tests := []struct {
		name    string
		opts    Options
		trigger Trigger
		wantErr string
	}{
		{name: "a receiver without a secret is refused", opts: Options{}, trigger: trigger, wantErr: "webhook secret is empty"},
		{name: "a receiver without a trigger is refused", opts: Options{Secret: []byte("s")}, wantErr: "webhook trigger is nil"},
		{name: "a negative body limit is refused", opts: Options{Secret: []byte("s"), MaxBodyBytes: -1}, trigger: trigger, wantErr: "webhook max body bytes -1 is negative"},
		{name: "a negative replay window is refused", opts: Options{Secret: []byte("s"), ReplayWindow: -time.Second}, trigger: trigger, wantErr: "webhook replay window -1s is negative"},
		{name: "zero limits take their defaults", opts: Options{Secret: []byte("s")}, trigger: trigger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReceiver(tt.opts, tt.trigger)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			got := [2]any{r.maxBody, r.window}
			want := [2]any{DefaultMaxBodyBytes, DefaultReplayWindow}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("limits mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReceiverRouting(t *testing.T) {
	push := fixture(t, "github-push.json")
	get := request{method: http.MethodGet, path: "/hooks/github/"}
	runReceiverCases(t, []receiverCase{
		{
			name: "an unknown path is not found",
			reqs: []request{{path: "/hooks/bitbucket", body: push}},
			want: exchange{Responses: only(http.StatusNotFound, "not found\n")},
		},
		{
			name: "a route with a trailing slash is not found",
			reqs: []request{get},
			want: exchange{Responses: only(http.StatusNotFound, "not found\n")},
		},
		{
			name: "the root is not found",
			reqs: []request{{method: http.MethodGet, path: "/"}},
			want: exchange{Responses: only(http.StatusNotFound, "not found\n")},
		},
	})

	t.Run("a refused method names POST as allowed", func(t *testing.T) {
		srv, _, _ := startReceiver(t, Options{})
		resp, err := srv.Client().Get(srv.URL + PathGeneric)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := [3]string{resp.Status, resp.Header.Get("Allow"), resp.Header.Get("Content-Type")}
		want := [3]string{"405 Method Not Allowed", "POST", "text/plain; charset=utf-8"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("response mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestReceiverReplayWindow(t *testing.T) {
	push := fixture(t, "github-push.json")
	const delivery = "d-1"
	later := signedGitHub("push", delivery, push)
	later.advance = time.Minute + time.Second
	justInTime := signedGitHub("push", delivery, push)
	justInTime.advance = time.Minute
	// otherPush is the same push event for another commit: a different
	// signed body.
	const otherCommit = "1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"
	otherPush := strings.Replace(push, `"after": "`+githubPushCommit+`"`, `"after": "`+otherCommit+`"`, 1)
	if otherPush == push {
		t.Fatal("fixture github-push.json has no after field to change")
	}

	gitlabPushBody := fixture(t, "gitlab-push.json")
	cases := []receiverCase{
		{
			name: "a delivery ID is forgotten once the window has passed",
			opts: Options{ReplayWindow: time.Minute},
			reqs: []request{signedGitHub("push", delivery, push), later},
			want: exchange{
				Responses: []response{triggered, triggered},
				Calls:     []Event{githubPushEvent(githubPushCommit, delivery), githubPushEvent(githubPushCommit, delivery)},
			},
		},
		{
			name: "a forged delivery does not burn its ID",
			reqs: []request{
				githubRequest("push", delivery, hubSignature("not the secret", push), push),
				signedGitHub("push", delivery, push),
			},
			want: exchange{
				Responses: []response{{http.StatusUnauthorized, "invalid signature\n"}, triggered},
				Calls:     []Event{githubPushEvent(githubPushCommit, delivery)},
			},
		},
		{
			name: "a different body under a new delivery ID is a new delivery",
			reqs: []request{signedGitHub("push", delivery, push), signedGitHub("push", "d-2", otherPush)},
			want: exchange{
				Responses: []response{triggered, triggered},
				Calls:     []Event{githubPushEvent(githubPushCommit, delivery), githubPushEvent(otherCommit, "d-2")},
			},
		},
		{
			name: "a replay under a fresh ID does not claim that ID",
			reqs: []request{
				signedGitHub("push", delivery, push),
				signedGitHub("push", "d-2", push),
				signedGitHub("push", "d-2", otherPush),
			},
			want: exchange{
				Responses: []response{triggered, replayed, triggered},
				Calls:     []Event{githubPushEvent(githubPushCommit, delivery), githubPushEvent(otherCommit, "d-2")},
			},
		},
		{
			name: "the same delivery ID from two providers is two deliveries",
			reqs: []request{
				signedGitHub("push", delivery, push),
				gitlabRequest("Push Hook", delivery, testSecret, gitlabPushBody),
			},
			want: exchange{
				Responses: []response{triggered, triggered},
				Calls:     []Event{githubPushEvent(githubPushCommit, delivery), gitlabPushEvent(delivery)},
			},
		},
	}

	// Each of these sends a first delivery, then a second that is refused
	// as a replay of it: only the first triggers.
	first := signedGitHub("push", delivery, push)
	for _, c := range []struct {
		name         string
		opts         Options
		first, again request
		call         Event
	}{
		{"a delivery ID is remembered until the end of the window", Options{ReplayWindow: time.Minute}, first, justInTime, githubPushEvent(githubPushCommit, delivery)},
		{"a captured GitHub body resent under a new delivery ID is a replay", Options{}, first, signedGitHub("push", "d-2", push), githubPushEvent(githubPushCommit, delivery)},
		{"a captured GitHub body resent without a delivery ID is a replay", Options{}, first, signedGitHub("push", "", push), githubPushEvent(githubPushCommit, delivery)},
		{
			"a captured GitLab body resent under a new event UUID is a replay", Options{},
			gitlabRequest("Push Hook", delivery, testSecret, gitlabPushBody), gitlabRequest("Push Hook", "d-2", testSecret, gitlabPushBody),
			gitlabPushEvent(delivery),
		},
		{"a different body under a delivery ID already received is refused", Options{}, first, signedGitHub("push", delivery, otherPush), githubPushEvent(githubPushCommit, delivery)},
	} {
		cases = append(cases, receiverCase{
			name: c.name,
			opts: c.opts,
			reqs: []request{c.first, c.again},
			want: exchange{Responses: []response{triggered, replayed}, Calls: []Event{c.call}},
		})
	}
	runReceiverCases(t, cases)
}

func TestReceiverConcurrentReplays(t *testing.T) {
	srv, _, rec := startReceiver(t, Options{})
	push := fixture(t, "github-push.json")
	const senders = 16

	statuses := make([]int, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			statuses[i] = send(t, srv, signedGitHub("push", "same-delivery", push)).Status
		})
	}
	wg.Wait()

	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	want := map[int]int{http.StatusAccepted: 1, http.StatusConflict: senders - 1}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("status counts mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(1, len(rec.events())); diff != "" {
		t.Errorf("trigger calls mismatch (-want +got):\n%s", diff)
	}
}

func TestReceiverStats(t *testing.T) {
	srv, r, _ := startReceiver(t, Options{MaxBodyBytes: 4096})
	push := fixture(t, "github-push.json")
	for _, req := range []request{
		signedGitHub("push", "a", push),
		signedGitHub("push", "a", push),
		signedGitHub("ping", "b", "{}"),
		githubRequest("push", "c", "", push),
		githubRequest("push", "c", hubSignature("nope", push), push),
		gitlabRequest("Push Hook", "", "", push),
		signedGeneric(testNow.Add(-time.Hour), "{}"),
		{path: "/nope"},
		{path: PathGitLab, method: http.MethodGet},
		signedGitHub("push", "d", strings.Repeat(" ", 5000)),
		signedGitHub("push", "e", "{"),
	} {
		send(t, srv, req)
	}
	want := Stats{
		Accepted: 1,
		Woken:    2,
		Ignored:  1,
		Rejected: map[Reason]uint64{
			ReasonReplayed:         1,
			ReasonUnsigned:         2,
			ReasonBadSignature:     1,
			ReasonStaleTimestamp:   1,
			ReasonNotFound:         1,
			ReasonMethodNotAllowed: 1,
			ReasonTooLarge:         1,
			ReasonMalformed:        1,
		},
	}
	if diff := cmp.Diff(want, r.Stats()); diff != "" {
		t.Errorf("stats mismatch (-want +got):\n%s", diff)
	}
}

// TestReceiverKeepsSecretsOutOfLogs sends the secret, wrong tokens and
// credential URLs, and checks none reach the log or the responses.
func TestReceiverKeepsSecretsOutOfLogs(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _, _ := startReceiver(t, Options{Logger: logger})

	creds := `{"url": "https://deploy:hunter2@git.example.com/mesh/config.git", "branch": "main"}`
	var responses strings.Builder
	for _, req := range []request{
		gitlabRequest("Push Hook", "u-1", testSecret, fixture(t, "gitlab-push.json")),
		gitlabRequest("Push Hook", "u-2", "guessed-token", fixture(t, "gitlab-push.json")),
		gitlabRequest("Push Hook", "u-3", testSecret, "{"),
		signedGeneric(testNow, creds),
		signedGitHub("push", "g-1", fixture(t, "github-push.json")),
	} {
		responses.WriteString(send(t, srv, req).Body)
	}

	for _, secret := range []string{testSecret, "guessed-token", "hunter2"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
		if strings.Contains(responses.String(), secret) {
			t.Errorf("responses contain %q:\n%s", secret, responses.String())
		}
	}
	if !strings.Contains(logs.String(), "webhook push accepted") {
		t.Errorf("logs lack the accepted pushes:\n%s", logs.String())
	}
}

// TestReceiverTriggerOutlivesTheSender checks the trigger's context is not
// cancelled with the request's: by then the delivery is recorded, and a
// redelivery would be refused.
func TestReceiverTriggerOutlivesTheSender(t *testing.T) {
	var gotErr error
	r, err := NewReceiver(Options{Secret: []byte(testSecret), Now: func() time.Time { return testNow }},
		func(ctx context.Context, ev Event) int {
			gotErr = ctx.Err()
			return 1
		})
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "github-push.json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := signedGitHub("push", "x", body)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hreq.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, hreq)
	got := [2]any{w.Code, gotErr == nil}
	want := [2]any{http.StatusAccepted, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status and uncancelled trigger context mismatch (-want +got):\n%s", diff)
	}
}

// TestReceiverReplayMemoryIsBounded sends more distinct signed deliveries
// than the receiver remembers: the replay cache stays at its bound, and the
// most recent delivery is still recognised as a replay.
func TestReceiverReplayMemoryIsBounded(t *testing.T) {
	push := fixture(t, "github-push.json")
	rec := &recorder{woken: 1}
	r, err := NewReceiver(Options{Secret: []byte(testSecret), Now: func() time.Time { return testNow }}, rec.trigger)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(delivery, body string) int {
		req := httptest.NewRequest(http.MethodPost, PathGitHub, strings.NewReader(body))
		for k, v := range signedGitHub("push", delivery, body).header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	const extra = 100
	var last string
	for i := range maxDeliveries + extra {
		// Each body differs (a push of another commit), as does each ID.
		last = strings.Replace(push, `"after": "`+githubPushCommit+`"`, fmt.Sprintf(`"after": "%040x"`, i), 1)
		if code := serve(fmt.Sprintf("d-%d", i), last); code != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d, want %d", i, code, http.StatusAccepted)
		}
	}
	if got, limit := r.replay.len(), maxDeliveries*keysPerDelivery; got > limit {
		t.Errorf("replay cache holds %d keys, more than its bound of %d", got, limit)
	}
	if code := serve("a-fresh-id", last); code != http.StatusConflict {
		t.Errorf("the latest body resent: status %d, want %d", code, http.StatusConflict)
	}
}

package gitfixture

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/webhook"
)

// TestPostGitHubPush sends push events to the controller's webhook
// receiver: one signed with its secret triggers it with the commit and the
// delivery, one signed with another secret is refused.
func TestPostGitHubPush(t *testing.T) {
	const secret = "fixture secret"
	events := make(chan webhook.Event, 2)
	rcv, err := webhook.NewReceiver(webhook.Options{Secret: []byte(secret)}, func(_ context.Context, ev webhook.Event) int {
		events <- ev
		return 1
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	body := []byte(`{"ref":"refs/heads/main","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"clone_url":"https://git.example.com/mesh.git"}}`)

	status, answer, err := PostGitHubPush(t.Context(), srv.URL+webhook.PathGitHub, secret, "delivery-1", body)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusAccepted {
		t.Errorf("signed push: status %d (%q), want 202", status, answer)
	}
	want := webhook.Event{
		Provider: "github", RepoURLs: []string{"https://git.example.com/mesh.git"}, Branch: "main",
		Commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", DeliveryID: "delivery-1",
	}
	if diff := cmp.Diff([]webhook.Event{want}, drain(events)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	status, _, err = PostGitHubPush(t.Context(), srv.URL+webhook.PathGitHub, "another secret", "delivery-2", body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(drain(events)); status != http.StatusUnauthorized || n != 0 {
		t.Errorf("push signed with another secret: status %d and %d events, want 401 and none", status, n)
	}
}

// drain returns the events waiting in c.
func drain(c chan webhook.Event) []webhook.Event {
	var evs []webhook.Event
	for {
		select {
		case ev := <-c:
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

package controller

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/webhook"
)

var webhookSecret = []byte("test-webhook-secret")

// postPush sends a GitHub push event for repoURL's branch at commit to the
// receiver at addr, signed with secret, and returns the status and body.
func postPush(t *testing.T, addr string, secret []byte, repoURL, branch, commit string) (int, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"ref":   "refs/heads/" + branch,
		"after": commit,
		"repository": map[string]any{
			"clone_url": repoURL,
			"html_url":  repoURL,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	delivery := fmt.Sprintf("%s-%d", commit, time.Now().UnixNano())
	code, answer, err := gitfixture.PostGitHubPush(t.Context(), "http://"+addr+webhook.PathGitHub, string(secret), delivery, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, answer
}

func TestWebhookTriggersASync(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	m := startManager(t, ns, func(o *Options) {
		o.WebhookAddr = "127.0.0.1:0"
		o.WebhookSecret = webhookSecret
	})
	obj := newIntentSync(t, ns, repo, nil) // polls hourly: only the webhook can bring new commits
	first := "main@sha1:" + repo.head
	waitReady(t, obj, first, 30*time.Second)

	t.Run("a signed push of the branch applies the new commit at once", func(t *testing.T) {
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
		start := time.Now()
		code, body := postPush(t, m.WebhookAddr(), webhookSecret, repo.srv.URL+".git", "main", next)
		if code != http.StatusAccepted || body != "triggered 1 IntentSync\n" {
			t.Fatalf("webhook answered %d %q, want 202 triggering 1 IntentSync", code, body)
		}
		waitReady(t, obj, "main@sha1:"+next, 10*time.Second)
		t.Logf("applied %s after the webhook", time.Since(start).Round(time.Millisecond))
		checkWeights(t, ns, "reviews", 50, 50)
	})

	t.Run("a push of another branch or repository triggers nothing", func(t *testing.T) {
		for _, tc := range []struct{ url, branch string }{
			{repo.srv.URL, "feature"},
			{repo.srv.URL + "-other", "main"},
		} {
			code, body := postPush(t, m.WebhookAddr(), webhookSecret, tc.url, tc.branch, repo.head)
			if code != http.StatusAccepted || body != "triggered 0 IntentSyncs\n" {
				t.Errorf("push of %s %s: webhook answered %d %q, want 202 triggering none", tc.url, tc.branch, code, body)
			}
		}
	})

	t.Run("a push with a wrong signature is refused and triggers nothing", func(t *testing.T) {
		applied := getSync(t, obj).Status.LastAppliedRevision
		reconciles := m.syncCount(obj)
		next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 20, 80)})
		code, _ := postPush(t, m.WebhookAddr(), []byte("wrong secret"), repo.srv.URL, "main", next)
		if code != http.StatusUnauthorized {
			t.Errorf("webhook answered %d, want 401", code)
		}
		time.Sleep(3 * time.Second)
		if got := getSync(t, obj).Status.LastAppliedRevision; got != applied {
			t.Errorf("lastAppliedRevision = %q, want still %q", got, applied)
		}
		if n := m.syncCount(obj) - reconciles; n != 0 {
			t.Errorf("%d reconciles after a refused webhook, want 0", n)
		}
	})
}

// TestWebhookMatchesRepositoryPathsInAnyCase checks that a push naming the
// repository in another case than the IntentSync does (GitHub and GitLab
// ignore the case of paths) applies the new commit at once.
func TestWebhookMatchesRepositoryPathsInAnyCase(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := &intentRepo{Repo: gitfixture.New(t)}
	repo.setFiles(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 80, 20)})
	repo.head = repo.Commit("intents")
	// Served under a name with letters, as hosted repositories are.
	named := filepath.Join(t.TempDir(), "Mesh-Config")
	if err := os.Symlink(repo.Dir, named); err != nil {
		t.Fatal(err)
	}
	repo.srv = gitfixture.Serve(t, named)
	m := startManager(t, ns, func(o *Options) {
		o.WebhookAddr = "127.0.0.1:0"
		o.WebhookSecret = webhookSecret
	})
	obj := newIntentSync(t, ns, repo, nil) // polls hourly
	waitReady(t, obj, "main@sha1:"+repo.head, 30*time.Second)

	next := repo.commit(map[string]string{"reviews.yaml": serviceIntent(ns, "reviews", 50, 50)})
	upper := strings.Replace(repo.srv.URL, "/Mesh-Config", "/MESH-CONFIG", 1)
	if upper == repo.srv.URL {
		t.Fatalf("the repository is served at %s, not under /Mesh-Config", repo.srv.URL)
	}
	code, body := postPush(t, m.WebhookAddr(), webhookSecret, upper+".git", "main", next)
	if code != http.StatusAccepted || body != "triggered 1 IntentSync\n" {
		t.Fatalf("webhook answered %d %q for %s, want 202 triggering 1 IntentSync", code, body, upper)
	}
	waitReady(t, obj, "main@sha1:"+next, 10*time.Second)
	checkWeights(t, ns, "reviews", 50, 50)
}

func TestRefMoved(t *testing.T) {
	tests := []struct {
		name string
		src  v1alpha1.GitSource
		ev   webhook.Event
		want bool
	}{
		{"a push of the followed branch", v1alpha1.GitSource{Branch: "main"}, webhook.Event{Branch: "main"}, true},
		{"a push of another branch", v1alpha1.GitSource{Branch: "main"}, webhook.Event{Branch: "dev"}, false},
		{"a tag push for a branch", v1alpha1.GitSource{Branch: "main"}, webhook.Event{Tag: "v1"}, false},
		{"a push of the followed tag", v1alpha1.GitSource{Tag: "v1"}, webhook.Event{Tag: "v1"}, true},
		{"a branch push for a tag", v1alpha1.GitSource{Tag: "v1"}, webhook.Event{Branch: "v1"}, false},
		{"any branch push for the default branch", v1alpha1.GitSource{}, webhook.Event{Branch: "dev"}, true},
		{"a tag push for the default branch", v1alpha1.GitSource{}, webhook.Event{Tag: "v1"}, false},
		{"a pinned commit never moves", v1alpha1.GitSource{Commit: "0123456789012345678901234567890123456789"}, webhook.Event{}, false},
		{"an event without a ref moves a branch", v1alpha1.GitSource{Branch: "main"}, webhook.Event{}, true},
		{"an event without a ref moves a tag", v1alpha1.GitSource{Tag: "v1"}, webhook.Event{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refMoved(tc.src, tc.ev); got != tc.want {
				t.Errorf("refMoved = %v, want %v", got, tc.want)
			}
		})
	}
}

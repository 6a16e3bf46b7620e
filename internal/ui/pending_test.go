package ui

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// reviewsServiceIntent is a reviews intent in ns splitting v1 and v2.
func reviewsServiceIntent(ns string, v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: reviews, namespace: %s}
spec:
  versions: [{name: v1}, {name: v2}, {name: v3}]
  split: [{version: v1, weight: %d}, {version: v2, weight: %d}]
`, ns, v1, v2)
}

// TestPendingRevisionGraphs shows a revision that failed next to what is
// applied: the page fetches it from a real repository, renders it and draws
// the services whose routing differs side by side.
func TestPendingRevisionGraphs(t *testing.T) {
	ns := env.Namespace(t)
	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", "resources:\n- reviews.yaml\n")
	repo.Write("reviews.yaml", reviewsServiceIntent(ns, 80, 20))
	applied := repo.Commit("reviews 80/20")
	repo.Write("reviews.yaml", reviewsServiceIntent(ns, 30, 70))
	failed := repo.Commit("reviews: 70% to v2")

	// What is live: the applied revision, as expand renders it.
	createYAML(t, ns, reviewsYAML(80, 20))
	inventory := []string{"DestinationRule/" + ns + "/reviews", "VirtualService/" + ns + "/reviews"}
	o := newSync(t, ns, syncSpec{name: "mesh", url: repo.URL(), inventory: inventory,
		applied: "main@sha1:" + applied, fetched: "main@sha1:" + failed,
		ready: metav1.ConditionFalse, reason: v1alpha1.ReasonPolicyDenied, message: "policy meshintent.weights denied"})
	o.Status.LastAttemptedRevision = "main@sha1:" + failed
	if err := env.Client.Status().Update(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	same := newSync(t, ns, syncSpec{name: "same", url: repo.URL(), inventory: inventory,
		applied: "main@sha1:" + applied, fetched: "main@sha1:" + applied})
	locked := newSync(t, ns, syncSpec{name: "locked", url: repo.URL(), inventory: inventory,
		applied: "main@sha1:" + applied, fetched: "main@sha1:" + failed})
	locked.Spec.Source.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-credentials"}
	if err := env.Client.Update(context.Background(), locked); err != nil {
		t.Fatal(err)
	}
	_, hs := startServer(t, Options{Namespace: ns, GitCacheDir: t.TempDir()})

	tests := []struct {
		name    string
		path    string
		want    []string
		notWant []string
	}{{
		name: "a failed revision is drawn next to the applied one",
		path: "/intentsyncs/" + ns + "/mesh",
		want: []string{"Revision main@sha1:" + failed[:12] + " failed (PolicyDenied)", "Before and after <code>main@sha1:" + failed[:12] + "</code>",
			`id="applied-` + ns + `-reviews"`, `id="pending-` + ns + `-reviews"`, "30%", "70%", "80%", "20%"},
	}, {
		name:    "nothing pending: no comparison",
		path:    "/intentsyncs/" + ns + "/" + same.Name,
		notWant: []string{"Before and after", "pending-"},
	}, {
		name:    "a repository with credentials is not fetched",
		path:    "/intentsyncs/" + ns + "/locked",
		want:    []string{"is fetched but not applied yet", "could not be drawn: the repository needs credentials"},
		notWant: []string{`id="pending-`},
	}, {
		name: "the list says which revision failed",
		path: "/",
		want: []string{"revision <code>main@sha1:" + failed[:12] + "</code> failed", "newer revision fetched"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := get(t, hs.URL, tt.path, "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tt.path, status, body)
			}
			checkBody(t, tt.path, body, tt.want, tt.notWant)
		})
	}
}

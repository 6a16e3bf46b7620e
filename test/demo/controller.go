package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/internal/ui"
)

// webhookSecret signs the demo's push webhook.
const webhookSecret = "demo-webhook-secret"

// controllerRun is the running controller part of the demo.
type controllerRun struct {
	repoDir, url string
	stop         func()
	// client reads the IntentSync sync; stamps is where the post-commit
	// hook writes when it sent each commit (see notify).
	client client.Client
	sync   *v1alpha1.IntentSync
	stamps string
	git    func(args ...string) (string, error)
	// commitLatency and revertLatency are the demo's scripted commit's
	// latency through the hook and the hand edit's revert latency.
	commitLatency, revertLatency string
}

// runController serves a Git copy of the intent repository over HTTP on
// 127.0.0.1, runs the IntentSync controller (what `reconciler run` runs),
// creates an IntentSync for it, then pushes a commit and shows it applied,
// and edits a weight by hand and shows it reverted.
func runController(ctx context.Context, w io.Writer, env *testenv.Env, tmp string, opts options, kubectl func(...string) error) (*controllerRun, error) {
	step(w, "Serving a Git copy of "+opts.repoDir+" over HTTP on 127.0.0.1 and starting the controller (reconciler run)")
	repoDir := filepath.Join(tmp, "git", "mesh")
	if err := gitfixture.CopyDir(opts.repoDir, repoDir); err != nil {
		return nil, err
	}
	// The demo's commits are the Demo's, not gitfixture's Test's; the
	// output holds the post-commit hook's.
	git := func(args ...string) (string, error) {
		cmd := gitfixture.Command(ctx, repoDir, args...)
		cmd.Env = append(cmd.Env, "GIT_AUTHOR_NAME=Demo", "GIT_AUTHOR_EMAIL=demo@example.com",
			"GIT_COMMITTER_NAME=Demo", "GIT_COMMITTER_EMAIL=demo@example.com")
		return gitfixture.CombinedOutput(cmd)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "bookinfo mesh"}} {
		if _, err := git(args...); err != nil {
			return nil, err
		}
	}
	srv, err := gitfixture.ServeDir(repoDir, nil)
	if err != nil {
		return nil, err
	}
	url, stopGit := srv.URL, srv.Stop
	fmt.Fprintf(w, "repository %s served at %s\n", repoDir, url)

	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "meshintent-system"}}); err != nil && !strings.Contains(err.Error(), "already exists") {
		stopGit()
		return nil, err
	}
	mgr, err := controller.NewManager(controller.Options{
		Config:        env.Config,
		CacheDir:      filepath.Join(tmp, "cache"),
		WebhookAddr:   "127.0.0.1:0",
		WebhookSecret: []byte(webhookSecret),
		Logger:        logr.Discard(),
	})
	if err != nil {
		stopGit()
		return nil, err
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	run := &controllerRun{repoDir: repoDir, url: url, stop: func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintf(os.Stderr, "demo: controller: %v\n", err)
		}
		stopGit()
	}}
	fail := func(err error) (*controllerRun, error) { run.stop(); return nil, err }
	fmt.Fprintf(w, "webhook receiver at http://%s/hooks/github\n", mgr.WebhookAddr())
	if addr, err := demoUI(mgr, env, filepath.Join(tmp, "ui-cache")); err != nil {
		fmt.Fprintf(w, "web UI not started: %v\n", err)
	} else {
		fmt.Fprintf(w, "web UI (as reconciler ui serves it) at http://%s/\n", addr)
	}
	run.client, run.git = env.Client, git
	run.stamps = filepath.Join(tmp, "commits")
	hook, err := installHook(repoDir, opts.self, tmp, run.stamps, mgr.WebhookAddr(), url)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "post-commit hook %s sends the signed push webhook for each commit\n", hook)

	step(w, "Creating an IntentSync: follow main, overlays/prod, prune, correct drift, fenced to bookinfo")
	sync := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Name: "bookinfo", Namespace: "meshintent-system"},
		Spec: v1alpha1.IntentSyncSpec{
			Source:            v1alpha1.GitSource{URL: url, Branch: "main", Path: opts.path},
			Interval:          metav1.Duration{Duration: 30 * time.Second},
			Prune:             true,
			DriftMode:         v1alpha1.DriftModeCorrect,
			AllowedNamespaces: []string{"bookinfo"},
		},
	}
	if err := env.Client.Create(ctx, sync); err != nil {
		return fail(err)
	}
	run.sync = sync
	head, err := git("rev-parse", "HEAD")
	if err != nil {
		return fail(err)
	}
	if err := waitApplied(ctx, env.Client, sync, head); err != nil {
		return fail(err)
	}
	if err := kubectl("get", "intentsyncs", "-A"); err != nil {
		return fail(err)
	}

	step(w, "Committing (reviews in prod: 60% v1, 35% v2, 5% v3): the post-commit hook sends the signed GitHub push webhook")
	kustomization := filepath.Join(repoDir, opts.path, "reviews.yaml")
	b, err := os.ReadFile(kustomization)
	if err != nil {
		return fail(err)
	}
	edited := strings.Replace(strings.Replace(string(b), "weight: 80", "weight: 60", 1), "weight: 15", "weight: 35", 1)
	if edited == string(b) {
		return fail(errors.New("the demo's weight edit no longer matches " + kustomization))
	}
	if err := os.WriteFile(kustomization, []byte(edited), 0o644); err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "$ git commit -qam \"reviews: more traffic to v2\"\n")
	if out, err := git("commit", "-qam", "reviews: more traffic to v2"); err != nil {
		return fail(err)
	} else if out != "" {
		fmt.Fprintln(w, out) // what the hook printed
	}
	head, err = git("rev-parse", "HEAD")
	if err != nil {
		return fail(err)
	}
	if err := waitApplied(ctx, env.Client, sync, head); err != nil {
		return fail(err)
	}
	run.commitLatency = run.latency(head, time.Now())
	fmt.Fprintf(w, "commit %s applied in %s\n", head[:7], run.commitLatency)
	if err := kubectl("get", "virtualservice", "reviews", "-n", "bookinfo", "-o", `jsonpath={range .spec.http[-1:].route[*]}{.destination.subset}={.weight}{"\n"}{end}`); err != nil {
		return fail(err)
	}
	fmt.Fprintln(w, "Why 63/37/0 and not 60/35/5: prod suspends v3 (spec.suspend in "+path.Join(opts.path, "reviews.yaml")+"),\n"+
		"so v3 gets 0 and its 5% is shared by the others in proportion: 60/95 → 63%, 35/95 → 37%.")

	step(w, "Editing a weight by hand: the controller sees it within a second and reverts it (driftMode: correct)")
	patch, err := weightPatch(ctx, env.Client)
	if err != nil {
		return fail(err)
	}
	if err := kubectl("patch", "virtualservice", "reviews", "-n", "bookinfo", "--type=json", "-p", patch); err != nil {
		return fail(err)
	}
	start := time.Now()
	if err := waitWeightsRestored(ctx, env.Client); err != nil {
		return fail(err)
	}
	run.revertLatency = seconds(time.Since(start))
	fmt.Fprintf(w, "hand edit reverted in %s\n", run.revertLatency)
	if err := kubectl("get", "events", "-n", "meshintent-system", "--field-selector", "involvedObject.name=bookinfo", "--sort-by=.lastTimestamp"); err != nil {
		return fail(err)
	}
	return run, nil
}

// waitApplied waits until the IntentSync is Ready with commit applied.
func waitApplied(ctx context.Context, c client.Client, sync *v1alpha1.IntentSync, commit string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last v1alpha1.IntentSync
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(sync), &last); err == nil {
			ready := apimeta.FindStatusCondition(last.Status.Conditions, v1alpha1.ConditionReady)
			if ready != nil && ready.Status == metav1.ConditionTrue && strings.HasSuffix(last.Status.LastAppliedRevision, commit) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("IntentSync %s did not apply %s: conditions %+v", sync.Name, commit, last.Status.Conditions)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitWeightsRestored waits until no weight of the reviews catch-all route is
// the hand-edited 50.
func waitWeightsRestored(ctx context.Context, c client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		vs := &unstructured.Unstructured{}
		vs.SetAPIVersion("networking.istio.io/v1")
		vs.SetKind("VirtualService")
		if err := c.Get(ctx, client.ObjectKey{Namespace: "bookinfo", Name: "reviews"}, vs); err == nil {
			http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
			route, _, _ := unstructured.NestedSlice(http[len(http)-1].(map[string]any), "route")
			w, _, _ := unstructured.NestedInt64(route[0].(map[string]any), "weight")
			if w != 50 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the hand edit was not reverted within 30s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pushWebhook sends a GitHub push event for commit, signed like GitHub does.
func pushWebhook(ctx context.Context, addr, repoURL, commit string) error {
	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"repository":{"clone_url":%q}}`, commit, repoURL)
	status, answer, err := gitfixture.PostGitHubPush(ctx, "http://"+addr+"/hooks/github", webhookSecret, "demo-"+commit, []byte(body))
	if err != nil {
		return fmt.Errorf("sending the webhook: %w", err)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("webhook answered %d: %s", status, answer)
	}
	return nil
}

// demoUI serves the web UI from the manager as `reconciler ui` does (the
// demo's administrator kubeconfig, loopback only) on 127.0.0.1:8090, or on
// a free port when that one is taken; it returns the address.
func demoUI(mgr *controller.Manager, env *testenv.Env, gitCache string) (string, error) {
	// The Git cache lets the page of a failed or pending commit draw its
	// graphs next to the applied ones.
	srv, err := ui.New(ui.Options{Config: env.Config, GitCacheDir: gitCache})
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:8090")
	if err != nil {
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", err
		}
	}
	if err := mgr.Add(srv.Runnable(l)); err != nil {
		_ = l.Close()
		return "", err
	}
	return l.Addr().String(), nil
}

// Package ui drives the web UI in headless Chromium (Debian's
// /usr/bin/chromium, through chromedp) against a real API server, the
// controller running in this process and a real Git repository.
//
// With MESHINTENT_SCREENSHOTS=docs it saves screenshots of the list, the
// detail page and a traffic graph to docs/ at the module's root (any other
// value is a directory relative to that root).
package ui

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
	webui "github.com/meshintent/meshintent/internal/ui"
)

// chromium is Debian's browser binary.
const chromium = "/usr/bin/chromium"

func reviewsIntent(ns string, v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: reviews
  namespace: %s
spec:
  versions: [{name: v1}, {name: v2}, {name: v3}]
  routes:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  split:
  - {version: v1, weight: %d}
  - {version: v2, weight: %d}
  - {version: v3, weight: 5}
  suspend:
    versions: [v3]
    reason: "INC-2291: v3 p99 latency regression"
`, ns, v1, v2)
}

// badVirtualService is a hand-written VirtualService whose weights sum to
// 90: meshintent.weights denies it.
func badVirtualService(ns string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
  namespace: %s
spec:
  hosts: [details]
  http:
  - route:
    - {destination: {host: details, subset: v1}, weight: 60}
    - {destination: {host: details, subset: v2}, weight: 30}
`, ns)
}

func ratingsIntent(ns string) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: ratings
  namespace: %s
spec:
  versions: [{name: v1}, {name: v2}]
  routes:
  - name: beta
    match: [{uri: {prefix: /ratings/beta}}]
    to: [{version: v2}]
  split:
  - {version: v1, weight: 100}
  fault:
    delay: 2s
    percentage: 10
`, ns)
}

func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no %s: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := env.Namespace(t)

	// A real Git repository served over smart HTTP.
	repo := gitfixture.New(t)
	repo.Write("kustomization.yaml", "resources:\n- reviews.yaml\n- ratings.yaml\n")
	repo.Write("reviews.yaml", reviewsIntent(ns, 80, 15))
	repo.Write("ratings.yaml", ratingsIntent(ns))
	repo.Commit("bookinfo mesh")
	srv := gitfixture.Serve(t, repo.Dir)

	// The controller, with the UI as `reconciler run --ui-bind-address` serves it.
	mgr, err := controller.NewManager(controller.Options{Config: env.Config, Namespace: ns, CacheDir: t.TempDir(), Logger: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	srvUI, err := webui.New(webui.Options{Config: env.Config, Namespace: ns, Auth: true, GitCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(srvUI.Runnable(l)); err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	mctx, mcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		mcancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	sync := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bookinfo"},
		Spec: v1alpha1.IntentSyncSpec{
			Source:    v1alpha1.GitSource{URL: srv.URL, Branch: "main"},
			Interval:  metav1.Duration{Duration: time.Hour},
			Prune:     true,
			DriftMode: v1alpha1.DriftModeCorrect,
		},
	}
	if err := env.Client.Create(ctx, sync); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, sync, repo.Git("rev-parse", "HEAD"))

	viewer := env.ServiceAccountToken(t, ns, "viewer", true)
	stranger := env.ServiceAccountToken(t, ns, "stranger", false)

	// The browser.
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	// Start the browser on bctx itself: the first Run's context owns it.
	if err := chromedp.Run(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}

	shots := screenshotDir(t)
	shot := func(name string, buf []byte) {
		if shots == "" {
			return
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}

	// Sign in and open the list.
	run(t, bctx, "signing in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, viewer, chromedp.ByQuery),
		chromedp.Submit(`#token`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
	)
	var listText string
	var png []byte
	run(t, bctx, "reading the list",
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery), // the event stream is open
		chromedp.Text(`table.list`, &listText, chromedp.ByQuery),
		chromedp.FullScreenshot(&png, 100),
	)
	for _, want := range []string{ns, "bookinfo", "Ready", srv.URL} {
		if !strings.Contains(listText, want) {
			t.Errorf("the list lacks %q:\n%s", want, listText)
		}
	}
	shot("ui-list.png", png)

	// Follow the link to the IntentSync with the keyboard alone (Tab until
	// it has the focus, then Enter) and see the traffic graph.
	link := "/intentsyncs/" + ns + "/bookinfo"
	focused := ""
	for range 40 {
		run(t, bctx, "pressing Tab",
			chromedp.KeyEvent("\t"),
			chromedp.Evaluate(`(document.activeElement && document.activeElement.getAttribute("href")) || ""`, &focused))
		if focused == link {
			break
		}
	}
	if focused != link {
		t.Fatalf("Tab never reached the link to %s", link)
	}
	graphSel := `#graph-` + ns + `-reviews svg`
	var graphText string
	run(t, bctx, "opening the IntentSync",
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(graphSel, chromedp.ByQuery),
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery),
		chromedp.TextContent(graphSel, &graphText, chromedp.ByQuery),
		chromedp.FullScreenshot(&png, 100),
	)
	// 80/15/5 with v3 suspended: 84/16/0.
	for _, want := range []string{"84%", "16%", "0% suspended", "SUSPENDED", "jason"} {
		if !strings.Contains(graphText, want) {
			t.Errorf("the reviews graph lacks %q:\n%s", want, graphText)
		}
	}
	shot("ui-detail.png", png)
	var graphPNG []byte
	run(t, bctx, "capturing the graph", chromedp.Screenshot(`#graph-`+ns+`-reviews`, &graphPNG, chromedp.ByQuery))
	shot("ui-graph.png", graphPNG)

	// Push a commit changing a weight: the page updates by itself.
	run(t, bctx, "marking the page", chromedp.Evaluate(`window.__notReloaded = true`, nil))
	repo.Write("reviews.yaml", reviewsIntent(ns, 50, 45))
	head := repo.Commit("reviews: more traffic to v2")
	start := time.Now()
	requestReconcile(t, sync) // what the push webhook does
	// 50/45/5 with v3 suspended: 53/47/0.
	var updated bool
	run(t, bctx, "waiting for the update",
		chromedp.Poll(`(function(){var s=document.querySelector(`+"`"+graphSel+"`"+`);return !!s && s.textContent.includes("53%") && s.textContent.includes("47%");})()`,
			&updated, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)),
	)
	took := time.Since(start)
	t.Logf("commit %s shown on the page %s after the push", head[:7], took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the page updated %s after the commit, want within 2s", took)
	}
	var notReloaded bool
	run(t, bctx, "checking it was not reloaded", chromedp.Evaluate(`window.__notReloaded === true`, &notReloaded))
	if !notReloaded {
		t.Error("the page was reloaded, not updated in place")
	}

	// Push a commit the policy gate denies (a VirtualService whose weights
	// sum to 90): the page shows by itself that it failed, and draws it
	// next to what stays applied.
	repo.Write("kustomization.yaml", "resources:\n- reviews.yaml\n- ratings.yaml\n- details.yaml\n")
	repo.Write("reviews.yaml", reviewsIntent(ns, 19, 76))
	repo.Write("details.yaml", badVirtualService(ns))
	denied := repo.Commit("reviews: 80% to v2; details split")
	requestReconcile(t, sync)
	pendingSel := `#pending-` + ns + `-reviews svg`
	var notice, pendingText string
	run(t, bctx, "waiting for the denied revision",
		chromedp.WaitVisible(pendingSel, chromedp.ByQuery),
		chromedp.Text(`.notice`, &notice, chromedp.ByQuery),
		chromedp.TextContent(pendingSel, &pendingText, chromedp.ByQuery),
		chromedp.TextContent(`#applied-`+ns+`-reviews svg`, &graphText, chromedp.ByQuery),
		chromedp.ScrollIntoView(`#h-compare`, chromedp.ByQuery),
	)
	if want := "Revision main@sha1:" + denied[:12] + " failed (PolicyDenied)"; !strings.Contains(notice, want) {
		t.Errorf("the notice lacks %q:\n%s", want, notice)
	}
	// 19/76/5 with v3 suspended: 20/80/0 pending, next to the applied 53/47.
	for _, want := range []string{"20%", "80%"} {
		if !strings.Contains(pendingText, want) {
			t.Errorf("the pending graph lacks %q:\n%s", want, pendingText)
		}
	}
	if !strings.Contains(graphText, "53%") {
		t.Errorf("the applied graph beside it lacks 53%%:\n%s", graphText)
	}
	var comparePNG []byte
	run(t, bctx, "capturing the comparison", chromedp.Screenshot(`section[aria-labelledby="h-compare"]`, &comparePNG, chromedp.ByQuery))
	shot("ui-compare.png", comparePNG)
	run(t, bctx, "not reloaded", chromedp.Evaluate(`window.__notReloaded === true`, &notReloaded))
	if !notReloaded {
		t.Error("the page was reloaded, not updated in place")
	}

	// Another user's token without rights: 403 and nothing of the IntentSync.
	const forbidden = `h1[data-status="403"]`
	var body string
	run(t, bctx, "signing in without rights",
		chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, stranger, chromedp.ByQuery),
		chromedp.Submit(`#token`, chromedp.ByQuery),
		// Wait for the list's 403 page itself, not any h1: the sign-in
		// page's own h1 is visible until the form's navigation ends, and
		// navigating before then aborts it (net::ERR_ABORTED).
		chromedp.WaitVisible(forbidden, chromedp.ByQuery),
		chromedp.Navigate(base+"/intentsyncs/"+ns+"/bookinfo"),
		chromedp.WaitVisible(forbidden, chromedp.ByQuery),
		chromedp.Text(`body`, &body, chromedp.ByQuery),
	)
	if !strings.Contains(body, "403") {
		t.Errorf("the page for a token without rights is not 403:\n%s", body)
	}
	for _, leak := range []string{srv.URL, "53%", "reviews", head[:7]} {
		if strings.Contains(body, leak) {
			t.Errorf("the 403 page shows %q", leak)
		}
	}
	for _, path := range []string{"/", "/intentsyncs/" + ns + "/bookinfo", "/events?ns=" + ns + "&name=bookinfo"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+stranger)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with a token without rights: %d, want 403", path, resp.StatusCode)
		}
	}
}

// run runs chromedp actions, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Run(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshotDir is where screenshots go, from $MESHINTENT_SCREENSHOTS
// relative to the module root; empty when unset.
func screenshotDir(t *testing.T) string {
	v := os.Getenv("MESHINTENT_SCREENSHOTS")
	if v == "" {
		return ""
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitApplied waits until the IntentSync is Ready with commit applied.
func waitApplied(t *testing.T, obj *v1alpha1.IntentSync, commit string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, func() error {
		got := &v1alpha1.IntentSync{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
			return err
		}
		if got.Status.LastAppliedRevision != "main@sha1:"+commit {
			return fmt.Errorf("lastAppliedRevision %q, want %s; conditions %+v", got.Status.LastAppliedRevision, commit, got.Status.Conditions)
		}
		return nil
	})
}

// requestReconcile stamps the annotation a webhook delivery stamps.
func requestReconcile(t *testing.T, obj *v1alpha1.IntentSync) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, controller.RequestedAtAnnotation, time.Now().UTC().Format(time.RFC3339Nano))
	if err := env.Client.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

package monitoring

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/controller"
	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/syncbuf"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/webhook"
)

// startController starts the controller's manager on ns, with its metrics
// endpoint and webhook receiver, as `reconciler run` does; it stops when
// the test ends.
func startController(t *testing.T, ns string) (metricsURL, webhookURL string) {
	t.Helper()
	var log syncbuf.Buffer
	metricsAddr := testenv.FreeAddr(t)
	mgr, err := controller.NewManager(controller.Options{
		Config:        env.Config,
		Namespace:     ns,
		CacheDir:      t.TempDir(),
		MetricsAddr:   metricsAddr,
		WebhookAddr:   "127.0.0.1:0",
		WebhookSecret: []byte("s3cret"),
		Logger:        funcr.New(func(prefix, args string) { fmt.Fprintln(&log, prefix, args) }, funcr.Options{}),
	})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("manager did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", log.String())
		}
	})
	return "http://" + metricsAddr + "/metrics", "http://" + mgr.WebhookAddr()
}

// TestMetricsEndpoint scrapes a running controller after an IntentSync
// was reconciled and checks that every metric the dashboard and the alerts
// name is exported, with the values status shows, and that a deleted
// IntentSync's series go.
func TestMetricsEndpoint(t *testing.T) {
	ns := env.Namespace(t)
	// A kustomization with a transformer, which the fast path leaves to
	// kustomize: the render fallback counter must count it.
	repo := gitfixture.New(t)
	repo.Write("reviews.yaml", gitfixture.SplitIntent(ns, "reviews", 80, 20))
	repo.Write("labels.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: team}\nlabels: {team: bookinfo}\nfieldSpecs: [{path: metadata/labels, create: true}]\n")
	repo.Write("kustomization.yaml", gitfixture.Kustomization("reviews.yaml")+"transformers: [labels.yaml]\n")
	head := repo.Commit("intents")
	metricsURL, webhookURL := startController(t, ns)

	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mesh"},
		Spec: v1alpha1.IntentSyncSpec{
			Source:   v1alpha1.GitSource{URL: repo.URL(), Branch: "main"},
			Interval: metav1.Duration{Duration: time.Hour},
		},
	}
	ctx := t.Context()
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := env.WaitIntentSync(t, obj, time.Minute, testenv.ReadyAt("main@sha1:"+head))
	sync := map[string]string{"namespace": ns, "name": "mesh"}

	// A delivery signed with another secret.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL+webhook.PathGitHub, bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256=0000000000000000000000000000000000000000000000000000000000000000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a badly signed delivery got %s, want 401", resp.Status)
	}

	samples := scrape(t, metricsURL)

	t.Run("every metric the dashboard and the alerts name is exported", func(t *testing.T) {
		used := usedMetrics(t)
		if len(used) < 8 {
			t.Fatalf("the dashboard and the rules name only %d metrics: %v", len(used), used)
		}
		for name, where := range used {
			if !exported(samples, name) {
				t.Errorf("%s (used by %v) is not exported", name, where)
			}
		}
	})

	t.Run("the per-IntentSync series agree with status", func(t *testing.T) {
		want := []struct {
			name   string
			labels map[string]string
			value  float64
		}{
			{"meshintent_managed_objects", sync, float64(got.Status.Inventory.Total)},
			{"meshintent_sync_failing", sync, 0},
			{"meshintent_drifted_objects", sync, 0},
			{"meshintent_last_applied_timestamp_seconds", sync, float64(got.Status.LastAppliedTime.Unix())},
			{"meshintent_policy_violations", map[string]string{"namespace": ns, "name": "mesh", "severity": "deny"}, 0},
			{"meshintent_git_fetch_errors_total", sync, 0},
		}
		for _, w := range want {
			s := find(samples, w.name, w.labels)
			if len(s) != 1 || s[0].value != w.value {
				t.Errorf("%s%v: got %s, want one series of %g", w.name, w.labels, describe(s), w.value)
			}
		}
		if got.Status.Inventory.Total < 2 {
			t.Errorf("inventory total %d, want the VirtualService and DestinationRule at least", got.Status.Inventory.Total)
		}
		for _, step := range []string{"fetch", "build", "apply"} {
			s := find(samples, "meshintent_reconcile_step_duration_seconds_count", map[string]string{"namespace": ns, "name": "mesh", "step": step})
			if len(s) != 1 || s[0].value < 1 {
				t.Errorf("step %s: %s, want a count of at least 1", step, describe(s))
			}
		}
	})

	t.Run("the transformer's render is counted as left to kustomize", func(t *testing.T) {
		s := find(samples, "meshintent_render_fallbacks_total", map[string]string{"reason": "kustomization field transformers"})
		if len(s) != 1 || s[0].value < 1 {
			t.Errorf("render fallbacks: %s, want at least 1", describe(find(samples, "meshintent_render_fallbacks_total", nil)))
		}
	})

	t.Run("the badly signed delivery is counted", func(t *testing.T) {
		s := find(samples, "meshintent_webhook_rejected_total", map[string]string{"reason": "bad_signature"})
		if len(s) != 1 || s[0].value < 1 {
			t.Errorf("webhook rejections: %s, want a bad_signature", describe(find(samples, "meshintent_webhook_rejected_total", nil)))
		}
	})

	t.Run("a deleted IntentSync's series go", func(t *testing.T) {
		if err := env.Client.Delete(ctx, obj); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 30*time.Second, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), &v1alpha1.IntentSync{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("IntentSync still there (%w)", err)
			}
			var left []sample
			for _, s := range scrape(t, metricsURL) {
				if s.labels["namespace"] == ns && s.labels["name"] == "mesh" {
					left = append(left, s)
				}
			}
			if len(left) > 0 {
				return fmt.Errorf("%d series of the deleted IntentSync left:%s", len(left), describe(left))
			}
			return nil
		})
	})
}

// sample is one series of a scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// scrape reads the Prometheus text exposition at url.
func scrape(t *testing.T, url string) []sample {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for the text format, not protobuf.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scraping %s: %s\n%s", url, resp.Status, b)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			s.name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			for _, m := range labelPair.FindAllStringSubmatch(rest[1:end], -1) {
				v, err := strconv.Unquote(`"` + m[2] + `"`)
				if err != nil {
					t.Fatalf("label value in %q: %v", line, err)
				}
				s.labels[m[1]] = v
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			t.Fatalf("no value in %q", line)
		}
		if s.value, err = strconv.ParseFloat(fields[0], 64); err != nil {
			t.Fatalf("value in %q: %v", line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// find returns the samples named name whose labels include want.
func find(samples []sample, name string, want map[string]string) []sample {
	var out []sample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// exported reports whether a scrape has series of metric name (for a
// histogram, its _bucket, _sum or _count series).
func exported(samples []sample, name string) bool {
	for _, s := range samples {
		if s.name == name || s.name == name+"_bucket" || s.name == name+"_count" {
			return true
		}
	}
	return false
}

func describe(samples []sample) string {
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "\n\t%s%v %g", s.name, s.labels, s.value)
	}
	return b.String()
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

// installHook writes the repository's post-commit hook: it runs the demo's
// own binary as `demo notify`, which sends the signed GitHub push webhook
// for the new commit to the controller, so that a commit is applied at
// once rather than at the next poll. It returns the hook's path.
func installHook(repoDir, self, tmp, stamps, webhookAddr, url string) (string, error) {
	if self == "" {
		return "", errors.New("the demo's binary is unknown: cannot install the post-commit hook")
	}
	if err := os.MkdirAll(stamps, 0o755); err != nil {
		return "", fmt.Errorf("post-commit hook: %w", err)
	}
	hook := filepath.Join(repoDir, ".git", "hooks", "post-commit")
	script := fmt.Sprintf("#!/bin/sh\n# meshintent demo: tell the controller about each commit with a signed GitHub push webhook.\nexec %s notify --addr %s --url %s --stamps %s\n",
		shellQuote(self), shellQuote(webhookAddr), shellQuote(url), shellQuote(stamps))
	if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
		return "", fmt.Errorf("post-commit hook: %w", err)
	}
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("post-commit hook: %w", err)
	}
	return hook, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// notify is `demo notify`, which the post-commit hook runs in the
// repository: it records when the commit was sent (for the demo to print
// its latency) and sends the signed push webhook for HEAD.
func notify(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	addr := fs.String("addr", "", "the controller's webhook address (host:port)")
	url := fs.String("url", "", "the repository's URL, as the IntentSync names it")
	stamps := fs.String("stamps", "", "directory where the send time of each commit is written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *url == "" {
		return errors.New("--addr and --url are required")
	}
	head, err := gitfixture.Run(ctx, "", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if *stamps != "" {
		stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := os.WriteFile(filepath.Join(*stamps, head), []byte(stamp), 0o644); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pushWebhook(ctx, *addr, *url, head); err != nil {
		return fmt.Errorf("%w (is the demo still running?)", err)
	}
	fmt.Fprintf(w, "post-commit hook: sent the signed push webhook for %s to the controller\n", head[:7])
	return nil
}

// latency is how long commit took from its post-commit hook to seen, as
// "0.18 s"; "(by the poll)" when the hook left no time for it.
func (r *controllerRun) latency(commit string, seen time.Time) string {
	b, err := os.ReadFile(filepath.Join(r.stamps, commit))
	if err != nil {
		return "(by the poll: no post-commit hook ran for it)"
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return "(unknown)"
	}
	return seconds(seen.Sub(time.Unix(0, ns)))
}

// seconds formats d as "0.18 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// watch reports each commit the controller applies (with its latency from
// the post-commit hook) or refuses (with the reason) until ctx ends.
func (r *controllerRun) watch(ctx context.Context, w io.Writer) error {
	var s v1alpha1.IntentSync
	applied, refused := "", ""
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(r.sync), &s); err == nil {
		applied = s.Status.LastAppliedRevision
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
		if err := r.client.Get(ctx, client.ObjectKeyFromObject(r.sync), &s); err != nil {
			continue
		}
		now := time.Now()
		if rev := s.Status.LastAppliedRevision; rev != applied {
			applied = rev
			sha := commitOf(rev)
			fmt.Fprintf(w, "commit %s applied in %s: %s\n", short(sha), r.latency(sha, now), r.subject(sha))
		}
		ready := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
		attempted := s.Status.LastAttemptedRevision
		if ready != nil && ready.Status == metav1.ConditionFalse && attempted != applied && attempted != refused {
			refused = attempted
			sha := commitOf(attempted)
			fmt.Fprintf(w, "commit %s NOT applied (%s): %s\n  kubectl get intentsyncs -A shows it; the cluster keeps the last applied commit\n",
				short(sha), ready.Reason, oneLine(ready.Message))
		}
	}
}

// subject is commit's subject line, "" when git cannot say.
func (r *controllerRun) subject(commit string) string {
	out, err := r.git("log", "-1", "--format=%s", commit)
	if err != nil {
		return ""
	}
	return out
}

// commitOf returns the commit of a revision such as main@sha1:0123abc….
func commitOf(rev string) string {
	if i := strings.LastIndex(rev, ":"); i >= 0 {
		return rev[i+1:]
	}
	return rev
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// oneLine keeps the first line of a status message, bounded.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

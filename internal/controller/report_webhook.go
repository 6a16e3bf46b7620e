package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/report"
)

// deliveryOptions say how hard a report is pushed to a webhook.
type deliveryOptions struct {
	// attempts is the number of POSTs before giving up.
	attempts int
	// timeout bounds each attempt.
	timeout time.Duration
	// backoff is the wait before the second attempt; it doubles after
	// each further failure, up to maxBackoff.
	backoff, maxBackoff time.Duration
}

// defaultDelivery: 3 attempts of 10s each, 1s then 2s apart.
var defaultDelivery = deliveryOptions{attempts: 3, timeout: 10 * time.Second, backoff: time.Second, maxBackoff: 8 * time.Second}

// deliver posts rep's Slack payload to the URL in the Secret secretName of
// obj's namespace. Errors name the Secret, never the URL; when the
// controller may not read the Secret, the error says which RoleBinding
// grants it (see secretAccessHint).
func (s *reportScheduler) deliver(ctx context.Context, obj *v1alpha1.IntentSync, secretName string, rep *report.Report) error {
	var secret corev1.Secret
	if err := s.r.Client.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: secretName}, &secret); err != nil {
		return fmt.Errorf("reading the Secret: %w", secretAccessHint(err, obj.Namespace))
	}
	raw := strings.TrimSpace(string(secret.Data[WebhookURLKey]))
	if raw == "" {
		return fmt.Errorf("the Secret has no %q key", WebhookURLKey)
	}
	payload, err := rep.SlackPayload()
	if err != nil {
		return err
	}
	return postWebhook(ctx, s.http, raw, payload, s.delivery)
}

// postWebhook POSTs the JSON body to rawURL, retrying network errors,
// timeouts, 429 and 5xx answers with exponential backoff. Other answers
// outside 2xx fail at once. Errors never contain the URL or any part of it.
func postWebhook(ctx context.Context, c *http.Client, rawURL string, body []byte, o deliveryOptions) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("the webhook URL is not an http(s) URL")
	}
	var last error
	for attempt := 1; attempt <= o.attempts; attempt++ {
		if attempt > 1 {
			wait := backoff(attempt-1, o.backoff, o.maxBackoff)
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w; gave up waiting to retry: %w", last, ctx.Err())
			case <-time.After(wait):
			}
		}
		retry, err := postOnce(ctx, c, u, body, o.timeout)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d of %d: %s", attempt, o.attempts, redactURL(err.Error(), u))
		if !retry {
			break
		}
	}
	return last
}

// postOnce makes one attempt and says whether a failure is worth a retry.
func postOnce(ctx context.Context, c *http.Client, u *url.URL, body []byte, timeout time.Duration) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, errors.New("building the request failed")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "meshintent-reconciler")
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return true, fmt.Errorf("no answer within %s", timeout)
		}
		return true, errors.New(describeNetError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("the webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("the webhook answered %s", resp.Status)
	}
}

// describeNetError says what went wrong with a request without the URL
// that *url.Error and friends carry: the operation and the system error
// ("dial: connect: connection refused"), a timeout, or a generic message.
func describeNetError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "the request timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "the webhook host name did not resolve"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return "the request failed: " + op.Op + ": " + op.Err.Error()
	}
	return "the request failed"
}

// redactURL removes the URL and its host and path from msg, in case a
// lower layer put them there.
func redactURL(msg string, u *url.URL) string {
	for _, s := range []string{u.String(), u.Host, u.Hostname(), u.EscapedPath(), u.RawQuery} {
		if len(s) > 1 {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return msg
}

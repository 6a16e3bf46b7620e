package controller

import (
	"time"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// Timing defaults.
const (
	// DefaultInterval is the poll interval when spec.interval is empty (the
	// CRD defaults it to 1m, so only objects created without defaulting
	// see it).
	DefaultInterval = time.Minute
	// firstRetry is the wait before the first retry of a transient failure;
	// it doubles with each further failure.
	firstRetry = time.Second
)

// intervalOf is how often obj's repository is polled.
func intervalOf(obj *v1alpha1.IntentSync) time.Duration {
	if d := obj.Spec.Interval.Duration; d > 0 {
		return d
	}
	return DefaultInterval
}

// retryCapOf is the longest wait between retries of transient failures:
// spec.retryInterval, else the poll interval.
func retryCapOf(obj *v1alpha1.IntentSync) time.Duration {
	if r := obj.Spec.RetryInterval; r != nil && r.Duration > 0 {
		return r.Duration
	}
	return intervalOf(obj)
}

// backoff returns the wait before the retry that follows the failures-th
// consecutive failure (1 for the first): base, doubled per further failure,
// never more than limit. A limit below base wins over it.
func backoff(failures int, base, limit time.Duration) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

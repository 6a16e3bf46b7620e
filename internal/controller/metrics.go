package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics, served by the manager's metrics endpoint from controller-runtime's
// registry.
var (
	stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "meshintent_reconcile_step_duration_seconds",
		Help:    "Duration of each reconcile step: fetch, build, apply, drift.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"step"})
	lastAppliedTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_last_applied_timestamp_seconds",
		Help: "Unix time of the last successful apply of a new revision, per IntentSync.",
	}, []string{"namespace", "name"})
	driftedObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_drifted_objects",
		Help: "Objects whose live state differs from Git (drifted or missing), per IntentSync.",
	}, []string{"namespace", "name"})
	policyViolations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_policy_violations",
		Help: "Policy results of the last evaluated revision, per IntentSync and severity (deny, warn).",
	}, []string{"namespace", "name", "severity"})
	reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshintent_reconcile_total",
		Help: "Reconciles by result: a condition reason (Synced, FetchFailed, PolicyDenied...) or Unchanged, Skipped.",
	}, []string{"result"})
)

var registerOnce sync.Once

// registerMetrics adds the metrics to controller-runtime's registry, once
// per process (tests start many managers).
func registerMetrics() {
	registerOnce.Do(func() {
		ctrlmetrics.Registry.MustRegister(stepDuration, lastAppliedTime, driftedObjects, policyViolations, reconcileTotal)
	})
}

// observeStep records how long a step took since start.
func observeStep(step string, start time.Time) {
	stepDuration.WithLabelValues(step).Observe(time.Since(start).Seconds())
}

// forgetMetrics drops the series of a deleted IntentSync.
func forgetMetrics(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	lastAppliedTime.Delete(labels)
	driftedObjects.Delete(labels)
	policyViolations.DeletePartialMatch(labels)
}

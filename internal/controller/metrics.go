package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/validate"
	"github.com/meshintent/meshintent/pkg/webhook"
)

// Metrics, served by the manager's metrics endpoint from controller-runtime's
// registry. The per-IntentSync series carry the labels namespace and name
// and are dropped when the IntentSync is deleted (forgetMetrics).
// config/monitoring's dashboard and alerts name them; a test checks that
// every name they use is exported.
var (
	stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "meshintent_reconcile_step_duration_seconds",
		Help:    "Duration of each reconcile step (fetch, build, apply, drift, correct), per IntentSync.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"namespace", "name", "step"})
	lastAppliedTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_last_applied_timestamp_seconds",
		Help: "Unix time of the last successful apply of a new revision, per IntentSync.",
	}, []string{"namespace", "name"})
	managedObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_managed_objects",
		Help: "Objects in the inventory of the last apply, per IntentSync.",
	}, []string{"namespace", "name"})
	driftedObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_drifted_objects",
		Help: "Objects whose live state differs from Git (drifted or missing), per IntentSync.",
	}, []string{"namespace", "name"})
	policyViolations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_policy_violations",
		Help: "Policy results of the last evaluated revision, per IntentSync and severity (deny, warn, waived).",
	}, []string{"namespace", "name", "severity"})
	syncFailing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "meshintent_sync_failing",
		Help: "1 while the IntentSync's Ready condition is False for a failure (not drift, not progress), else 0.",
	}, []string{"namespace", "name"})
	gitFetchErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshintent_git_fetch_errors_total",
		Help: "Failed fetches of the Git source, per IntentSync.",
	}, []string{"namespace", "name"})
	renderFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshintent_render_fallbacks_total",
		Help: "Renders the fast path left to kustomize, by reason.",
	}, []string{"reason"})
	reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "meshintent_reconcile_total",
		Help: "Reconciles by result: a condition reason (Synced, FetchFailed, PolicyDenied...) or Unchanged, Skipped.",
	}, []string{"result"})
)

// perSync are the vectors labelled namespace and name (and maybe more),
// whose series forgetMetrics drops.
var perSync = []interface {
	DeletePartialMatch(prometheus.Labels) int
}{stepDuration, lastAppliedTime, managedObjects, driftedObjects, policyViolations, syncFailing, gitFetchErrors}

var registerOnce sync.Once

// registerMetrics adds the metrics to controller-runtime's registry, once
// per process (tests start many managers).
func registerMetrics() {
	registerOnce.Do(func() {
		ctrlmetrics.Registry.MustRegister(stepDuration, lastAppliedTime, managedObjects, driftedObjects,
			policyViolations, syncFailing, gitFetchErrors, renderFallbacks, reconcileTotal, webhookMetrics)
	})
}

// observeStep records how long a step of obj took since start.
func observeStep(obj *v1alpha1.IntentSync, step string, start time.Time) {
	stepDuration.WithLabelValues(obj.Namespace, obj.Name, step).Observe(time.Since(start).Seconds())
}

// recordPolicyMetrics sets the policy results of obj's last evaluated
// revision, by severity.
func recordPolicyMetrics(obj *v1alpha1.IntentSync, report *validate.Report) {
	for sev, n := range map[validate.Severity]int{
		validate.SeverityDeny:   report.Denials,
		validate.SeverityWarn:   report.Warnings,
		validate.SeverityWaived: report.Waived,
	} {
		policyViolations.WithLabelValues(obj.Namespace, obj.Name, string(sev)).Set(float64(n))
	}
}

// recordStatus sets the gauges status decides once a reconcile is done:
// meshintent_managed_objects from the inventory, and meshintent_sync_failing
// from the Ready condition, 1 when it is False for a failure. Drift
// (DriftDetected) has its own gauge and alert, a revision being applied
// (Progressing) is not a failure, and a suspended IntentSync is not failing.
func recordStatus(obj *v1alpha1.IntentSync) {
	if inv := obj.Status.Inventory; inv != nil {
		managedObjects.WithLabelValues(obj.Namespace, obj.Name).Set(float64(inv.Total))
	}
	failing := 0.0
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); c != nil && !obj.Spec.Suspend &&
		c.Status == metav1.ConditionFalse && c.Reason != v1alpha1.ReasonDriftDetected && c.Reason != v1alpha1.ReasonProgressing {
		failing = 1
	}
	syncFailing.WithLabelValues(obj.Namespace, obj.Name).Set(failing)
	// Export the fetch error counter from 0, so that increase() sees the
	// first error.
	gitFetchErrors.WithLabelValues(obj.Namespace, obj.Name)
}

// recordFetchError counts a failed fetch of obj's source.
func recordFetchError(obj *v1alpha1.IntentSync) {
	gitFetchErrors.WithLabelValues(obj.Namespace, obj.Name).Inc()
}

// recordFallback counts a render that kustomize built because the fast
// path could not; reason is render.Result.Fallback, "" for the fast path.
func recordFallback(reason string) {
	if reason != "" {
		renderFallbacks.WithLabelValues(reason).Inc()
	}
}

// forgetMetrics drops the series of a deleted IntentSync.
func forgetMetrics(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	for _, v := range perSync {
		v.DeletePartialMatch(labels)
	}
}

// webhookMetrics exports the counters of the webhook receivers of this
// process (one per manager; tests start several), summed. A signature is
// checked before the body names a repository, so rejections cannot be
// attributed to an IntentSync: they are counted by reason only.
var webhookMetrics = &webhookCollector{receivers: map[*webhook.Receiver]bool{}}

var (
	webhookRejectedDesc = prometheus.NewDesc("meshintent_webhook_rejected_total",
		"Webhook requests refused, by reason (bad_signature, unsigned, stale_timestamp, replayed, too_large...).", []string{"reason"}, nil)
	webhookAcceptedDesc = prometheus.NewDesc("meshintent_webhook_accepted_total",
		"Authenticated webhook pushes passed on to the IntentSyncs they name.", nil, nil)
)

// webhookSignatureReasons are the rejections that are signature failures;
// they are always exported, 0 included, so that alerts on them have a
// series from the start.
var webhookSignatureReasons = []webhook.Reason{webhook.ReasonBadSignature, webhook.ReasonUnsigned, webhook.ReasonStaleTimestamp}

// webhookCollector is a prometheus.Collector over webhook.Receiver.Stats.
type webhookCollector struct {
	mu        sync.Mutex
	receivers map[*webhook.Receiver]bool
}

// add starts counting r; remove stops (its counts leave the sums, which
// Prometheus reads as a counter reset).
func (c *webhookCollector) add(r *webhook.Receiver) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receivers[r] = true
}

func (c *webhookCollector) remove(r *webhook.Receiver) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.receivers, r)
}

// Describe implements prometheus.Collector.
func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- webhookRejectedDesc
	ch <- webhookAcceptedDesc
}

// Collect implements prometheus.Collector.
func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rejected := map[webhook.Reason]uint64{}
	for _, reason := range webhookSignatureReasons {
		rejected[reason] = 0
	}
	var accepted uint64
	for r := range c.receivers {
		s := r.Stats()
		accepted += s.Accepted
		for reason, n := range s.Rejected {
			rejected[reason] += n
		}
	}
	ch <- prometheus.MustNewConstMetric(webhookAcceptedDesc, prometheus.CounterValue, float64(accepted))
	for reason, n := range rejected {
		ch <- prometheus.MustNewConstMetric(webhookRejectedDesc, prometheus.CounterValue, float64(n), string(reason))
	}
}

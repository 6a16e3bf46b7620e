package controller

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/pipeline"
	"github.com/meshintent/meshintent/pkg/report"
	"github.com/meshintent/meshintent/pkg/source"
)

// Scheduled drift reports: the condition, reasons, Events and ConfigMap.
const (
	// ConditionDriftReportScheduled is True while spec.driftReport's schedule
	// is in force and False (reason ReportScheduleInvalid) when the schedule
	// or time zone is invalid; absent without spec.driftReport.
	ConditionDriftReportScheduled = "DriftReportScheduled"
	// ReasonReportScheduled is the reason of a True DriftReportScheduled.
	ReasonReportScheduled = "Scheduled"
	// ReasonReportScheduleInvalid is the reason (and Event) of an invalid
	// schedule or time zone.
	ReasonReportScheduleInvalid = "ReportScheduleInvalid"

	// EventDriftReport is emitted by each run: Normal when the cluster is
	// clean, Warning when anything drifted, is missing, unmanaged, stale or
	// owned by another manager.
	EventDriftReport = "DriftReport"
	// EventDriftReportMissed says runs were skipped (the previous one was
	// still going) or missed (no controller was leading).
	EventDriftReportMissed = "DriftReportMissed"
	// EventDriftReportFailed says a run could not compute or store its report.
	EventDriftReportFailed = "DriftReportFailed"
	// EventDriftReportDeliveryFailed says the webhook did not take the
	// report after every attempt.
	EventDriftReportDeliveryFailed = "DriftReportDeliveryFailed"

	// ReportConfigMapSuffix makes the report ConfigMap's name from the
	// IntentSync's: <name>-drift-report, in the IntentSync's namespace.
	ReportConfigMapSuffix = "-drift-report"
	// ReportMarkdownKey and ReportJSONKey are the ConfigMap's keys.
	ReportMarkdownKey = "report.md"
	ReportJSONKey     = "report.json"
	// WebhookURLKey is the key of spec.driftReport.webhookSecretRef's Secret
	// holding the webhook URL.
	WebhookURLKey = "url"
)

const (
	// reportRunTimeout bounds one run: render, drift, dry-run, store and
	// deliver.
	reportRunTimeout = 5 * time.Minute
	// configMapBudget keeps the report ConfigMap well below the 1 MiB
	// object limit; larger reports are trimmed (the counts stay whole).
	configMapBudget = 900 << 10
	// trimmedRows is how many entries per list a trimmed report keeps.
	trimmedRows = 200
)

// ReportConfigMapName is the name of the ConfigMap holding obj's drift report.
func ReportConfigMapName(obj *v1alpha1.IntentSync) string { return obj.Name + ReportConfigMapSuffix }

// AppliedRevision is an IntentSync's revision rendered as the controller
// applies it.
type AppliedRevision struct {
	// Revision is e.g. "main@sha1:…".
	Revision string
	// Set holds the objects, labelled with the IntentSync.
	Set manifest.Set
	// Ignore are the drift ignore rules: the repository's meshintent.yaml
	// ones, then spec.ignore.
	Ignore []apply.IgnoreRule
}

var revisionSHA = regexp.MustCompile(`sha1:([0-9a-f]{40})$`)

// RenderApplied fetches and renders the revision obj last applied
// (status.lastAppliedRevision) as the controller applied it. When none was
// applied yet it renders what spec.source follows now. Policies are not
// evaluated: the revision was judged when it was applied.
func RenderApplied(ctx context.Context, fetcher *source.Fetcher, obj *v1alpha1.IntentSync, auth *source.Auth) (*AppliedRevision, error) {
	src := obj.Spec.Source
	ref := source.Ref{Branch: src.Branch, Tag: src.Tag, Commit: src.Commit}
	if rev := obj.Status.LastAppliedRevision; rev != "" {
		m := revisionSHA.FindStringSubmatch(rev)
		if m == nil {
			return nil, fmt.Errorf("status.lastAppliedRevision %q names no commit", rev)
		}
		ref = source.Ref{Commit: m[1]}
	}
	var timeout time.Duration
	if src.Timeout != nil {
		timeout = src.Timeout.Duration
	}
	art, err := fetcher.Fetch(ctx, source.Options{URL: src.URL, Ref: ref, Auth: auth, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	out, err := pipeline.Build(ctx, pipeline.Options{Root: art.Dir, Path: src.Path, SkipPolicy: true})
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", art.Revision, err)
	}
	revision := obj.Status.LastAppliedRevision
	if revision == "" {
		revision = art.Revision
	}
	return &AppliedRevision{
		Revision: revision,
		Set:      label(out.Render.Objects, obj.Namespace, obj.Name),
		Ignore:   ignoreRules(out.Config.Ignore, obj.Spec.Ignore),
	}, nil
}

// ignoreRules are the repository's rules followed by the spec's.
func ignoreRules(repo []apply.IgnoreRule, spec []v1alpha1.IgnoreRule) []apply.IgnoreRule {
	return append(append([]apply.IgnoreRule(nil), repo...), spec...)
}

// ReportOptions are the options the controller computes obj's report of a
// with (report.Compute): its identity, source, revision and applied time,
// inventory and ignore rules.
func ReportOptions(obj *v1alpha1.IntentSync, a *AppliedRevision, now time.Time) report.Options {
	opts := report.Options{
		IntentSync: obj.Namespace + "/" + obj.Name,
		Source:     obj.Spec.Source.URL,
		Revision:   a.Revision,
		Inventory:  inventoryName(obj),
		Ignore:     a.Ignore,
		Now:        now,
	}
	if t := obj.Status.LastAppliedTime; t != nil && a.Revision == obj.Status.LastAppliedRevision {
		opts.AppliedAt = t.Time
	}
	return opts
}

// run makes one drift report of the IntentSync key: compute it against the
// last applied revision, store it in the report ConfigMap, record it in
// status and an Event, and deliver it to the webhook.
func (s *reportScheduler) run(ctx context.Context, key types.NamespacedName) {
	ctx, cancel := context.WithTimeout(ctx, reportRunTimeout)
	defer cancel()
	log := s.log.WithValues("intentsync", key.String())
	ctx = ctrl.LoggerInto(ctx, log)

	// Get the IntentSync from the API server: the cache may lag behind a
	// removal of the schedule.
	obj := &v1alpha1.IntentSync{}
	if err := s.client.Get(ctx, key, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			log.Error(err, "reading the IntentSync for its drift report")
		}
		return
	}
	if obj.Spec.DriftReport == nil || !obj.DeletionTimestamp.IsZero() {
		return
	}

	// Skip when nothing was applied yet: there is nothing to compare with.
	if obj.Status.LastAppliedRevision == "" {
		s.recordRun(ctx, key, "skipped: no revision applied yet", "")
		s.r.Recorder.Event(obj, corev1.EventTypeNormal, EventDriftReport, "drift report skipped: no revision applied yet")
		return
	}

	// Compute the report.
	rep, err := s.compute(ctx, obj)
	if err != nil {
		s.fail(ctx, obj, err)
		return
	}

	// Store it in the report ConfigMap.
	name := ReportConfigMapName(obj)
	rep.ConfigMap = obj.Namespace + "/" + name
	if err := s.store(ctx, obj, rep); err != nil {
		s.fail(ctx, obj, err)
		return
	}

	// Record it in status and an Event.
	s.recordRun(ctx, key, rep.Line(), name)
	kind := corev1.EventTypeWarning
	if rep.Clean() {
		kind = corev1.EventTypeNormal
	}
	s.r.Recorder.Eventf(obj, kind, EventDriftReport, "drift report of revision %s: %s; full report in ConfigMap %s",
		rep.Revision, truncate(rep.Line(), messageLimit), rep.ConfigMap)
	log.V(1).Info("drift report", "summary", rep.Line(), "configMap", rep.ConfigMap)

	// Deliver it to the webhook.
	if ref := obj.Spec.DriftReport.WebhookSecretRef; ref != nil && ref.Name != "" {
		if err := s.deliver(ctx, obj, ref.Name, rep); err != nil {
			s.r.Recorder.Eventf(obj, corev1.EventTypeWarning, EventDriftReportDeliveryFailed,
				"delivering the drift report to the webhook of Secret %s/%s failed: %s", obj.Namespace, ref.Name, truncate(err.Error(), messageLimit))
			log.Info("drift report delivery failed", "secret", ref.Name, "error", err.Error())
		}
	}
}

// compute reports on the set obj last applied: the one in memory when it is
// of the last applied revision, else that revision rendered again.
func (s *reportScheduler) compute(ctx context.Context, obj *v1alpha1.IntentSync) (*report.Report, error) {
	var a *AppliedRevision
	if st := s.r.states.lookup(client.ObjectKeyFromObject(obj)); st != nil {
		st.mu.Lock()
		if ap := st.applied; ap != nil && ap.revision == obj.Status.LastAppliedRevision {
			if set, err := ap.decode(nil); err == nil {
				a = &AppliedRevision{Revision: ap.revision, Set: set, Ignore: ap.ignore}
			}
		}
		st.mu.Unlock()
	}
	if a == nil {
		auth, err := s.r.auth(ctx, obj)
		if err != nil {
			return nil, err
		}
		if a, err = RenderApplied(ctx, s.r.Fetcher, obj, auth); err != nil {
			return nil, err
		}
	}
	// Report on obj's cluster, as obj's ServiceAccount (fleet.go).
	tg, _, err := s.r.targetFor(ctx, obj, false)
	if err != nil {
		return nil, err
	}
	return report.Compute(ctx, tg.apply, a.Set, ReportOptions(obj, a, s.now()))
}

// store writes rep to the report ConfigMap with server-side apply: Markdown
// and JSON, labelled as meshintent's and owned by the IntentSync, so that it
// goes with it. A report too large for a ConfigMap is trimmed.
func (s *reportScheduler) store(ctx context.Context, obj *v1alpha1.IntentSync, rep *report.Report) error {
	md, js, err := renderReport(rep)
	if err == nil && len(md)+len(js) > configMapBudget {
		md, js, err = renderReport(rep.Trimmed(trimmedRows))
	}
	if err != nil {
		return err
	}
	cm := corev1ac.ConfigMap(ReportConfigMapName(obj), obj.Namespace).
		WithLabels(map[string]string{
			manifest.ManagedByLabel: manifest.ManagedByValue,
			SyncNamespaceLabel:      obj.Namespace,
			SyncNameLabel:           obj.Name,
		}).
		WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion(v1alpha1.GroupVersion.String()).
			WithKind(v1alpha1.IntentSyncKind).
			WithName(obj.Name).
			WithUID(obj.UID).
			WithController(true)).
		WithData(map[string]string{ReportMarkdownKey: md, ReportJSONKey: js})
	err = s.client.Apply(ctx, cm, client.FieldOwner(s.r.Apply.Options().FieldManager), client.ForceOwnership)
	if err != nil {
		return fmt.Errorf("ConfigMap/%s/%s: %w", obj.Namespace, ReportConfigMapName(obj), err)
	}
	return nil
}

func renderReport(rep *report.Report) (md, js string, err error) {
	var m, j bytes.Buffer
	if err := rep.WriteMarkdown(&m); err != nil {
		return "", "", err
	}
	if err := rep.WriteJSON(&j); err != nil {
		return "", "", err
	}
	return m.String(), j.String(), nil
}

// recordRun writes a run's outcome to status.driftReport: the time, the
// next run, the summary and the ConfigMap (kept when empty).
func (s *reportScheduler) recordRun(ctx context.Context, key types.NamespacedName, summary, configMap string) {
	now := s.now()
	sched, scheduled := s.schedule(key)
	_, err := s.patchStatus(ctx, key, func(o *v1alpha1.IntentSync) {
		if o.Status.DriftReport == nil {
			o.Status.DriftReport = &v1alpha1.DriftReportStatus{}
		}
		dr := o.Status.DriftReport
		dr.LastRunTime = &metav1.Time{Time: now}
		if scheduled {
			dr.NextRunTime = &metav1.Time{Time: sched.Next(now)}
		}
		dr.Summary = truncate(summary, messageLimit)
		if configMap != "" {
			dr.ConfigMap = configMap
		}
	})
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "recording the drift report in status")
	}
}

// fail records a run that produced no report.
func (s *reportScheduler) fail(ctx context.Context, obj *v1alpha1.IntentSync, err error) {
	msg := "drift report failed: " + oneLine(err.Error())
	s.recordRun(ctx, client.ObjectKeyFromObject(obj), msg, "")
	s.r.Recorder.Event(obj, corev1.EventTypeWarning, EventDriftReportFailed, truncate(msg, messageLimit))
	ctrl.LoggerFrom(ctx).Info("drift report failed", "error", err.Error())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

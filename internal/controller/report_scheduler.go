package controller

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// stopTimeout bounds how long stopping the scheduler waits for runs in
// flight (their context is cancelled first).
const stopTimeout = 30 * time.Second

// reportScheduler runs the scheduled drift reports: one cron entry per
// IntentSync with spec.driftReport. The "intentsync-report" controller keeps
// the entries equal to the specs; the scheduler itself is a runnable that
// needs leader election, so only the leader runs reports. Both the entries
// and the cron live in memory: a new leader rebuilds them from the specs
// and, from status.driftReport.lastRunTime, reports the runs missed
// meanwhile.
type reportScheduler struct {
	r *IntentSyncReconciler
	// client reads IntentSyncs from the API server and writes the report
	// ConfigMaps.
	client client.Client
	// status writes IntentSync status (statuswriter.go), on client.
	status statusWriter
	cron   *cron.Cron
	log    logr.Logger
	// http posts to the report webhooks; it does not follow redirects.
	http     *http.Client
	delivery deliveryOptions
	now      func() time.Time

	// ctx is the context of runs; cancelled when the scheduler stops.
	ctx    context.Context
	cancel context.CancelFunc
	// runs counts runs started outside the cron (missed-run catch-ups).
	runs sync.WaitGroup

	// started counts runs begun, for tests.
	started atomic.Int64

	mu      sync.Mutex
	entries map[types.NamespacedName]*reportEntry
}

// reportEntry is the cron entry of one IntentSync.
type reportEntry struct {
	id cron.EntryID
	// schedule and timeZone are the spec the entry was made from.
	schedule, timeZone string
	sched              reportSchedule
	job                *reportJob
}

// reportJob runs the reports of one IntentSync. It outlives changes of the
// schedule, so that a run under the old schedule still blocks an overlap.
type reportJob struct {
	s       *reportScheduler
	key     types.NamespacedName
	running atomic.Bool
	// started is the Unix time in nanoseconds the current run started.
	started atomic.Int64
}

var (
	_ manager.Runnable               = &reportScheduler{}
	_ manager.LeaderElectionRunnable = &reportScheduler{}
)

// setupReports adds the drift report scheduler and its controller to mgr.
func (r *IntentSyncReconciler) setupReports(mgr ctrl.Manager, log logr.Logger) (*reportScheduler, error) {
	s := newReportScheduler(r, r.Apply.Client(), log.WithName("drift-report"))
	if err := mgr.Add(s); err != nil {
		return nil, fmt.Errorf("adding the drift report scheduler: %w", err)
	}
	// Every change of an IntentSync wakes it, status included: a no-op
	// reconcile is cheap, and it puts the DriftReportScheduled condition
	// back should anyone else remove it.
	err := ctrl.NewControllerManagedBy(mgr).
		Named("intentsync-report").
		For(&v1alpha1.IntentSync{}).
		Complete(reconcile.Func(s.reconcile))
	if err != nil {
		return nil, fmt.Errorf("setting up the drift report controller: %w", err)
	}
	return s, nil
}

func newReportScheduler(r *IntentSyncReconciler, c client.Client, log logr.Logger) *reportScheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &reportScheduler{
		r:      r,
		client: c,
		status: newStatusWriter(c),
		cron: cron.New(
			cron.WithLocation(time.UTC),
			cron.WithLogger(cronLogger{log}),
			cron.WithChain(cron.Recover(cronLogger{log})),
		),
		log: log,
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			// A redirect's error would carry the webhook URL; treat it as
			// the answer instead.
			return http.ErrUseLastResponse
		}},
		delivery: defaultDelivery,
		now:      r.now,
		ctx:      ctx,
		cancel:   cancel,
		entries:  map[types.NamespacedName]*reportEntry{},
	}
}

// NeedLeaderElection is true: only the leader runs reports.
func (s *reportScheduler) NeedLeaderElection() bool { return true }

// Start runs the cron until ctx is done, then cancels the runs in flight and
// waits for them (at most stopTimeout).
func (s *reportScheduler) Start(ctx context.Context) error {
	s.cron.Start()
	<-ctx.Done()
	s.cancel()
	stopped := s.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		s.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		s.log.Info("drift reports still running after the scheduler stopped", "waited", stopTimeout)
	}
	return nil
}

// reconcile keeps the cron entry of one IntentSync equal to its
// spec.driftReport, records the schedule's validity in the
// DriftReportScheduled condition, and on first sight reports and makes up
// for runs missed while no controller was leading.
func (s *reportScheduler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := req.NamespacedName
	obj := &v1alpha1.IntentSync{}
	if err := s.r.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			s.remove(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	// Remove the entry when reports are off or the IntentSync is going.
	spec := obj.Spec.DriftReport
	if !obj.DeletionTimestamp.IsZero() {
		s.remove(key)
		return ctrl.Result{}, nil
	}
	if spec == nil {
		s.remove(key)
		if apimeta.FindStatusCondition(obj.Status.Conditions, ConditionDriftReportScheduled) == nil &&
			(obj.Status.DriftReport == nil || obj.Status.DriftReport.NextRunTime == nil) {
			return ctrl.Result{}, nil
		}
		_, err := s.patchStatus(ctx, key, func(o *v1alpha1.IntentSync) {
			clearReportScheduled(o)
			if o.Status.DriftReport != nil {
				o.Status.DriftReport.NextRunTime = nil
			}
		})
		return ctrl.Result{}, err
	}

	// Parse the schedule; a bad one is a configuration error: no entry,
	// a condition and an Event, and no retry until the spec changes.
	now := s.now()
	sched, err := parseSchedule(spec.Schedule, spec.TimeZone, now)
	if err != nil {
		s.remove(key)
		msg := err.Error()
		if conditionIs(obj, metav1.ConditionFalse, ReasonReportScheduleInvalid, msg) &&
			(obj.Status.DriftReport == nil || obj.Status.DriftReport.NextRunTime == nil) {
			return ctrl.Result{}, nil
		}
		changed := false
		fresh, err := s.patchStatus(ctx, key, func(o *v1alpha1.IntentSync) {
			changed = !conditionIs(o, metav1.ConditionFalse, ReasonReportScheduleInvalid, msg)
			markReportScheduleInvalid(o, msg)
			if o.Status.DriftReport != nil {
				o.Status.DriftReport.NextRunTime = nil
			}
		})
		if changed && fresh != nil {
			s.r.Recorder.Event(fresh, corev1.EventTypeWarning, ReasonReportScheduleInvalid, truncate(msg, messageLimit))
		}
		ctrl.LoggerFrom(ctx).Info("drift report schedule invalid", "error", msg)
		return ctrl.Result{}, err
	}

	// Create or update the entry.
	entry, state := s.upsert(key, spec.Schedule, spec.TimeZone, sched)
	msg := sched.describe(spec.Schedule)
	if state == entryUnchanged && conditionIs(obj, metav1.ConditionTrue, ReasonReportScheduled, msg) {
		return ctrl.Result{}, nil
	}

	// Runs due while no controller was leading are missed: count them and
	// run once now. nextRunTime is only set while a valid schedule was in
	// force, so a schedule just added or repaired has missed nothing.
	missed, firstMissed := 0, time.Time{}
	if dr := obj.Status.DriftReport; state == entryCreated && dr != nil && dr.LastRunTime != nil && dr.NextRunTime != nil {
		missed, firstMissed = missedRuns(sched, dr.LastRunTime.Time, now)
	}
	fresh, err := s.patchStatus(ctx, key, func(o *v1alpha1.IntentSync) {
		markReportScheduled(o, msg)
		if o.Status.DriftReport == nil {
			o.Status.DriftReport = &v1alpha1.DriftReportStatus{}
		}
		if state != entryUnchanged || o.Status.DriftReport.NextRunTime == nil {
			o.Status.DriftReport.NextRunTime = &metav1.Time{Time: sched.Next(now)}
		}
		o.Status.DriftReport.MissedRuns += missed
	})
	if err != nil {
		if state == entryCreated {
			s.remove(key) // so that the retry looks for missed runs again
		}
		return ctrl.Result{}, err
	}
	if missed > 0 && fresh != nil {
		last := obj.Status.DriftReport.LastRunTime.Time
		s.r.Recorder.Eventf(fresh, corev1.EventTypeWarning, EventDriftReportMissed,
			"%d drift %s missed while no controller was leading (last run %s, first missed run due %s); running one now",
			missed, plural(missed, "report was", "reports were"), formatTime(last), formatTime(firstMissed))
		s.runNow(entry.job)
	}
	return ctrl.Result{}, nil
}

// entryState says what upsert did.
type entryState int

const (
	entryUnchanged entryState = iota
	entryCreated
	entryUpdated
)

// upsert makes the cron entry of key follow schedule and timeZone.
func (s *reportScheduler) upsert(key types.NamespacedName, schedule, timeZone string, sched reportSchedule) (*reportEntry, entryState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if ok && e.schedule == schedule && e.timeZone == timeZone {
		return e, entryUnchanged
	}
	state := entryUpdated
	if ok {
		s.cron.Remove(e.id)
	} else {
		state = entryCreated
		e = &reportEntry{job: &reportJob{s: s, key: key}}
		s.entries[key] = e
	}
	e.schedule, e.timeZone, e.sched = schedule, timeZone, sched
	e.id = s.cron.Schedule(sched, e.job)
	return e, state
}

// remove drops the cron entry of key, if any. A run in flight finishes.
func (s *reportScheduler) remove(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok {
		s.cron.Remove(e.id)
		delete(s.entries, key)
	}
}

// schedule returns the schedule of key's entry.
func (s *reportScheduler) schedule(key types.NamespacedName) (reportSchedule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return reportSchedule{}, false
	}
	return e.sched, true
}

// Run is called by the cron at each activation.
func (j *reportJob) Run() { j.s.trigger(j, j.s.now()) }

// runNow starts a run outside the schedule.
func (s *reportScheduler) runNow(j *reportJob) {
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.trigger(j, s.now())
	}()
}

// trigger runs j's report unless a run of the same IntentSync is still
// going; then the run due is skipped and reported as missed.
func (s *reportScheduler) trigger(j *reportJob, due time.Time) {
	if !j.running.CompareAndSwap(false, true) {
		s.recordSkipped(j.key, due, time.Unix(0, j.started.Load()))
		return
	}
	j.started.Store(due.UnixNano())
	s.started.Add(1)
	defer j.running.Store(false)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error(fmt.Errorf("panic: %v", p), "drift report run panicked", "intentsync", j.key.String())
		}
	}()
	s.run(s.ctx, j.key)
}

// recordSkipped counts a run skipped because the previous one was still
// going in status.driftReport.missedRuns and says so in an Event.
func (s *reportScheduler) recordSkipped(key types.NamespacedName, due, started time.Time) {
	ctx, cancel := context.WithTimeout(s.ctx, statusTimeout)
	defer cancel()
	obj, err := s.patchStatus(ctx, key, func(o *v1alpha1.IntentSync) {
		if o.Status.DriftReport == nil {
			o.Status.DriftReport = &v1alpha1.DriftReportStatus{}
		}
		o.Status.DriftReport.MissedRuns++
	})
	if err != nil {
		s.log.Info("recording a skipped drift report", "intentsync", key.String(), "error", err.Error())
		return
	}
	s.r.Recorder.Eventf(obj, corev1.EventTypeWarning, EventDriftReportMissed,
		"skipped the drift report due %s: the run started %s is still going", formatTime(due), formatTime(started))
}

// patchStatus writes status through the package's one status writer (see
// statusWriter.update): mutate is applied to the IntentSync as the API
// server has it, and made again on a conflict. It returns the object as
// patched; NotFound is not an error (the object is then nil).
func (s *reportScheduler) patchStatus(ctx context.Context, key types.NamespacedName, mutate func(*v1alpha1.IntentSync)) (*v1alpha1.IntentSync, error) {
	return s.status.update(ctx, key, mutate)
}

// formatTime prints a time for messages: RFC 3339 in UTC, to the second.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// cronLogger passes the cron's log to logr: its chatter (wake, run,
// schedule) at V(2), errors (recovered panics) as errors.
type cronLogger struct{ log logr.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.V(2).Info(msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) { l.log.Error(err, msg, kv...) }

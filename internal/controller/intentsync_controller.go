// Package controller is meshintent's Kubernetes controller: for each
// IntentSync it keeps a cluster's mesh configuration equal to the intents at
// a Git branch, tag or commit, and reports drift from it.
//
// Two controllers share one IntentSyncReconciler:
//   - the sync controller (Reconcile) runs the pipeline fetch → render and
//     validate (policies plus the tenancy fence) → dry-run and apply →
//     record, on spec changes, webhook triggers, retries and every poll
//     interval;
//   - the drift controller (reconcileDrift) reacts within a second to
//     someone else changing or deleting an object an IntentSync applied,
//     which the manager's cache watches by label only.
package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/pipeline"
	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/source"
	"github.com/meshintent/meshintent/pkg/validate"
)

// Labels, annotations and the finalizer the controller sets.
const (
	// SyncNamespaceLabel and SyncNameLabel are put on every object an
	// IntentSync applies, naming it, so that watch events on the object map
	// back to it.
	SyncNamespaceLabel = "meshintent.io/sync-namespace"
	SyncNameLabel      = "meshintent.io/sync-name"
	// RequestedAtAnnotation on an IntentSync asks for a reconcile now; a
	// replica that is not the leader sets it when a webhook arrives.
	RequestedAtAnnotation = "meshintent.io/reconcile-requested-at"
	// Finalizer is held while spec.prune is on, so that deleting the
	// IntentSync first prunes what it applied.
	Finalizer = "meshintent.io/prune"
)

// Event reasons besides the condition reasons.
const (
	EventApplied        = "Applied"
	EventDriftCorrected = "DriftCorrected"
	EventPruned         = "Pruned"
)

// statusTimeout bounds the final status patch, which runs even when the
// reconcile's context was cancelled (e.g. the manager is stopping), so that
// an interrupted attempt is still on record.
const statusTimeout = 5 * time.Second

// IntentSyncReconciler reconciles IntentSyncs. Create it with NewManager,
// which wires it into a controller-runtime manager.
type IntentSyncReconciler struct {
	// Client reads IntentSyncs and Secrets from the manager's cache and
	// writes IntentSync metadata (the finalizer, trigger annotations).
	// Status is written only through statusWriter (statuswriter.go).
	Client client.Client
	// APIReader reads IntentSyncs past the cache, which holds only this
	// shard's (shard.go); nil reads through Client.
	APIReader client.Reader
	// Apply applies, prunes and diffs through a client that reads the API
	// server directly, as pkg/apply requires.
	Apply *apply.Manager
	// Fetcher fetches Git repositories into the cache directory.
	Fetcher *source.Fetcher
	// Recorder emits Events about IntentSyncs.
	Recorder record.EventRecorder
	// Namespace, when set, is the only namespace whose IntentSyncs are
	// reconciled; empty means all.
	Namespace string
	// Fence is the controller's tenancy fence: the default of IntentSyncs
	// that set none and the bound of those that do (see Fence.For).
	Fence Fence
	// YAMLLimits bound the YAML each render reads (zero: the defaults).
	YAMLLimits render.Limits
	// Live reads what the live policy checks need from the cluster; nil
	// leaves them silent (see liveData).
	Live *live.Reader

	states  *stateStore
	trigger chan event.GenericEvent
	// elected is closed once this replica leads (or runs without leader
	// election); nil means it always leads.
	elected <-chan struct{}
	now     func() time.Time
	// memory releases the heap of each sync reconcile; nil is off.
	memory *memoryReleaser
	// watched are the managed kinds the watch cache holds (Manager.Kinds).
	watched []schema.GroupVersionKind
	// fleet holds the remote clusters and impersonating clients
	// (fleet.go); nil applies to the local cluster as the controller only.
	fleet *fleet

	// counts are reconciles per IntentSync, for tests and debugging.
	counts counters
}

var _ reconcile.Reconciler = &IntentSyncReconciler{}

// counters counts calls per IntentSync.
type counters struct {
	sync  sync.Map // types.NamespacedName → *atomic.Int64
	drift sync.Map
}

func (c *counters) inc(m *sync.Map, key types.NamespacedName) {
	v, _ := m.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *counters) get(m *sync.Map, key types.NamespacedName) int64 {
	v, ok := m.Load(key)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// Reconcile brings one IntentSync's cluster state to its Git revision. It
// is the thin wrapper of Flux's controllers: it gets the object, handles
// deletion, the finalizer and suspension, and finishes status in one last
// patch whatever happened; the work is reconcile's list of steps.
func (r *IntentSyncReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	r.counts.inc(&r.counts.sync, req.NamespacedName)
	log := ctrl.LoggerFrom(ctx)

	// Get the IntentSync; once it is gone there is nothing to do.
	obj := &v1alpha1.IntentSync{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.states.forget(req.NamespacedName)
			r.fleet.release(req.NamespacedName)
			forgetMetrics(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	// Prune on deletion, then let the object go.
	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj)
	}

	// Hold the finalizer exactly while prune is on.
	if err := r.syncFinalizer(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}

	// Leave a suspended IntentSync and its cluster state alone.
	status := r.statusWriter().newPatcher(obj)
	if obj.Spec.Suspend {
		markSuspended(obj)
		recordStatus(obj)
		reconcileTotal.WithLabelValues(v1alpha1.ReasonSuspended).Inc()
		return ctrl.Result{}, status.finish(ctx, obj)
	}

	// Patch the status once more at the end, whatever happened.
	defer func() {
		if err := status.finish(ctx, obj); err != nil {
			log.Error(err, "patching status")
			retErr = errors.Join(retErr, err)
		}
		recordStatus(obj)
		r.memory.release()
	}()
	return r.reconcile(ctx, obj, status), nil
}

// reconcile runs the steps fetch → render → validate → dry-run → apply →
// record on obj and says when to come back. A step that fails records the
// failure in obj's status with a reason constant (see fail) and ends the
// list; progress is patched to status between steps.
func (r *IntentSyncReconciler) reconcile(ctx context.Context, obj *v1alpha1.IntentSync, status *statusPatcher) ctrl.Result {
	log := ctrl.LoggerFrom(ctx)
	st := r.states.get(client.ObjectKeyFromObject(obj))
	started := r.now()
	interval := intervalOf(obj)
	failed := func(f failure) ctrl.Result {
		f.started = started
		return r.fail(ctx, obj, st, f)
	}

	// Say that a new generation is being reconciled.
	if obj.Generation != obj.Status.ObservedGeneration {
		markProgressing(obj, fmt.Sprintf("reconciling generation %d", obj.Generation))
		status.progress(ctx, obj)
	}

	// Connect to the cluster of spec.kubeConfig, as spec.serviceAccountName.
	tg, f := r.connect(ctx, obj)
	if f != nil {
		return failed(*f)
	}

	// Fetch the source, with the credentials of spec.source.secretRef.
	art, err := r.fetch(ctx, obj)
	if err != nil {
		recordFetchError(obj)
		return failed(failure{step: "fetch", reason: v1alpha1.ReasonFetchFailed, revision: refString(obj.Spec.Source), err: err})
	}
	obj.Status.LastFetchedRevision = art.Revision
	st.fetched = fetchedCommit{revision: art.Revision, commit: commitInfo(art.Meta)}
	if f := r.verify(ctx, obj, art); f != nil {
		return failed(*f)
	}

	// Hold the drift reconciler off from here on: it must not correct
	// objects while a new revision is being applied.
	st.mu.Lock()
	defer st.mu.Unlock()

	// Wait for a new commit or spec when this revision was found bad.
	if st.stalled.revision == art.Revision && st.stalled.generation == obj.Generation {
		log.V(1).Info("revision already found bad; waiting for a new commit or spec", "revision", art.Revision)
		markFailed(obj, st.stalled.reason, st.stalled.message, true, interval) // e.g. after a fetch failure
		reconcileTotal.WithLabelValues("Skipped").Inc()
		return ctrl.Result{RequeueAfter: interval}
	}

	// Render the revision, evaluating the policies and the tenancy fence.
	built, report, err := r.build(ctx, obj, st, art, tg)
	if err != nil {
		return failed(buildFailure(ctx, art.Revision, err))
	}

	// Validate: record the policy report and stop at a denial.
	if report != nil {
		r.recordPolicy(obj, art.Revision, report)
		if report.Denied() {
			return failed(failure{step: "build", reason: v1alpha1.ReasonPolicyDenied,
				revision: art.Revision, err: errors.New(deniedMessage(report)), stalled: true})
		}
	}

	// Check drift instead of applying when the revision is applied already
	// and report mode must leave drift alone (the periodic backstop of the
	// drift controller).
	st.target = tg
	if !r.mustApply(obj, st, built) {
		st.setApplied(built)
		if r.quiet(obj, st, built, tg, interval) {
			return ctrl.Result{RequeueAfter: interval}
		}
		changes := st.changes.Load()
		if r.checkDrift(ctx, obj, st, tg) {
			st.markChecked(tg, changes, r.now())
		}
		st.failures = 0
		reconcileTotal.WithLabelValues("Unchanged").Inc()
		return ctrl.Result{RequeueAfter: interval}
	}
	if r.quiet(obj, st, built, tg, interval) {
		return ctrl.Result{RequeueAfter: interval} // correct mode: nothing to revert
	}
	changes := st.changes.Load()

	// Dry-run: say a new revision is being applied, and refuse it when an
	// object of it is another IntentSync's. In correct mode an already
	// applied revision is re-applied, which reverts drift and is the drift
	// backstop.
	newRevision := obj.Status.LastAppliedRevision != art.Revision || st.applied == nil ||
		st.applied.generation != obj.Generation
	if newRevision {
		obj.Status.LastAttemptedRevision = art.Revision
		markProgressing(obj, "applying revision "+art.Revision)
		status.progress(ctx, obj)
	}
	set, f := r.claim(ctx, obj, built, tg)
	if f != nil {
		return failed(*f)
	}

	// Apply the set: pkg/apply dry-runs it whole, then applies it in stages
	// and prunes.
	res, err := r.apply(ctx, obj, set, art.Revision, tg)
	if err != nil {
		return failed(tg.deniedFailure(tg.unreachableFailure(applyFailure(ctx, art.Revision, err))))
	}

	// Record the outcome.
	r.record(ctx, obj, st, built, res, started, newRevision)
	st.markChecked(tg, changes, r.now())
	return ctrl.Result{RequeueAfter: interval}
}

// quiet is the no-op sync: when the revision and spec generation are those
// of the last full check, in the same cluster as the same identity, and the
// watch has seen no one change or delete an object since (see
// syncState.unchanged), it skips the drift check and the re-apply, and
// only says in status when it looked. The last full check must be younger
// than fullCheckPolls poll intervals, and Ready must say Synced or
// DriftDetected (a status patch that failed is not trusted).
func (r *IntentSyncReconciler) quiet(obj *v1alpha1.IntentSync, st *syncState, built *appliedSet, tg *target, interval time.Duration) bool {
	reason := readyReason(obj)
	if obj.Status.LastAppliedRevision != built.revision || (reason != v1alpha1.ReasonSynced && reason != v1alpha1.ReasonDriftDetected) ||
		!st.unchanged(built, tg, r.now(), fullCheckPolls*interval) {
		return false
	}
	r.setDriftStatus(obj, st, true)
	obj.Status.ObservedGeneration = obj.Generation
	st.failures = 0
	reconcileTotal.WithLabelValues("Unchanged").Inc()
	return true
}

// buildFailure classifies a failed render of revision: a bad revision or
// spec (stalled, PolicyError for a broken policy, RenderFailed otherwise),
// or a transient failure, retried with backoff: an interrupted build, or a
// policy evaluation that overran its budget (PolicyTimeout), which a busy
// controller may cause on a revision an idle one passes.
func buildFailure(ctx context.Context, revision string, err error) failure {
	f := failure{step: "build", reason: v1alpha1.ReasonRenderFailed, revision: revision, err: err}
	if ctx.Err() != nil {
		return f
	}
	if pe, ok := errors.AsType[*validate.PolicyError](err); ok {
		if pe.Timeout() {
			f.reason = v1alpha1.ReasonPolicyTimeout
			return f
		}
		f.reason = v1alpha1.ReasonPolicyError
	}
	f.stalled = true
	return f
}

// recordPolicy puts a policy report of revision into status and metrics.
func (r *IntentSyncReconciler) recordPolicy(obj *v1alpha1.IntentSync, revision string, report *validate.Report) {
	obj.Status.Policy = policyStatus(revision, report)
	recordPolicyMetrics(obj, report)
}

// claim decodes built for applying, and fails it when an object of it is
// applied by another IntentSync that still holds it: like a dry-run
// failure, nothing is applied, and it is tried again at each poll, for the
// other may drop it.
func (r *IntentSyncReconciler) claim(ctx context.Context, obj *v1alpha1.IntentSync, built *appliedSet, tg *target) (manifest.Set, *failure) {
	set, err := built.lazy(nil)
	if err != nil {
		return nil, &failure{step: "apply", reason: v1alpha1.ReasonApplyFailed, revision: built.revision, err: err}
	}
	claimed, err := r.claimedElsewhereIn(ctx, tg, obj, built)
	if err != nil {
		f := tg.deniedFailure(tg.unreachableFailure(failure{step: "apply", reason: v1alpha1.ReasonApplyFailed, revision: built.revision, err: err}))
		return nil, &f
	}
	if len(claimed) > 0 {
		return nil, &failure{step: "apply", reason: v1alpha1.ReasonDryRunFailed, revision: built.revision,
			err: &apply.DryRunError{Failures: claimed, Total: len(set)}, stalled: true, retry: true}
	}
	return set, nil
}

// apply applies set, the objects of revision, as obj's spec says, and puts
// the resulting inventory into status even when the apply failed.
func (r *IntentSyncReconciler) apply(ctx context.Context, obj *v1alpha1.IntentSync, set manifest.Set, revision string, tg *target) (*apply.Result, error) {
	defer observeStep(obj, "apply", r.now())
	res, err := tg.apply.Apply(ctx, set, apply.ApplyOptions{
		Force:            obj.Spec.DriftMode == v1alpha1.DriftModeCorrect,
		CreateNamespaces: obj.Spec.CreateNamespaces,
		Prune:            obj.Spec.Prune,
		Inventory:        inventoryName(obj),
		Revision:         revision,
	})
	if res != nil && res.Inventory != nil {
		obj.Status.Inventory = inventoryStatus(res.Inventory)
	}
	return res, err
}

// applyFailure classifies a failed apply of revision. A dry-run the API
// server rejected is bad for this cluster, not necessarily for ever (a
// namespace or a CRD may appear): stalled, but tried again at each poll,
// never in a loop. Anything else, an unavailable API server included, is
// retried with backoff.
func applyFailure(ctx context.Context, revision string, err error) failure {
	var dr *apply.DryRunError
	if errors.As(err, &dr) && ctx.Err() == nil && !transientDryRun(dr) {
		return failure{step: "apply", reason: v1alpha1.ReasonDryRunFailed, revision: revision, err: err, stalled: true, retry: true}
	}
	return failure{step: "apply", reason: v1alpha1.ReasonApplyFailed, revision: revision, err: err}
}

// record notes a successful apply of built in state, status, events and
// metrics. A re-apply of the applied revision (correct mode) that changed
// objects reverted drift the watch missed, and says so.
func (r *IntentSyncReconciler) record(ctx context.Context, obj *v1alpha1.IntentSync, st *syncState, built *appliedSet, res *apply.Result, started time.Time, newRevision bool) {
	st.failures = 0
	st.stalled = stalledKey{}
	summary := res.ChangeSet.Summary()
	if newRevision {
		st.setApplied(built)
		st.drift = map[string]objectDrift{}
		st.corrected = 0
		now := r.now()
		obj.Status.LastAppliedRevision = built.revision
		obj.Status.LastAppliedTime = &metav1.Time{Time: now}
		obj.Status.LastAppliedCommit = st.fetched.commitOf(built.revision)
		obj.Status.History = addAttempt(obj.Status.History, v1alpha1.Attempt{
			Revision: built.revision, Result: v1alpha1.ReasonSynced,
			StartedAt: metav1.NewTime(started), Duration: metav1.Duration{Duration: now.Sub(started)},
			Message: summary, Commit: st.fetched.commitOf(built.revision), Pruned: prunedIDs(res.ChangeSet),
		})
		lastAppliedTime.WithLabelValues(obj.Namespace, obj.Name).Set(float64(now.Unix()))
		r.Recorder.Eventf(obj, corev1.EventTypeNormal, EventApplied, "applied revision %s: %s", built.revision, summary)
		ctrl.LoggerFrom(ctx).Info("applied", "revision", built.revision, "changes", summary)
	} else if n := res.ChangeSet.Count(apply.Created) + res.ChangeSet.Count(apply.Configured); n > 0 {
		var ids []string
		for _, e := range res.ChangeSet.Entries {
			if e.Action == apply.Created || e.Action == apply.Configured {
				ids = append(ids, e.ID)
				delete(st.drift, e.ID)
			}
		}
		st.corrected += n
		r.Recorder.Eventf(obj, corev1.EventTypeNormal, EventDriftCorrected, "re-applied %d %s of revision %s: %s",
			n, plural(n, "object", "objects"), built.revision, strings.Join(ids, ", "))
	}
	r.publishDrift(obj, st)
	markSynced(obj, built.revision)
	obj.Status.ObservedGeneration = obj.Generation
	reconcileTotal.WithLabelValues(v1alpha1.ReasonSynced).Inc()
}

// mustApply says whether built must be applied, rather than only checked
// for drift: in correct mode always (a no-op when nothing drifted), in
// report mode only when it is not the revision and generation applied last.
// After a restart, status stands in for the memory of what was applied.
func (r *IntentSyncReconciler) mustApply(obj *v1alpha1.IntentSync, st *syncState, built *appliedSet) bool {
	if obj.Spec.DriftMode == v1alpha1.DriftModeCorrect {
		return true
	}
	if obj.Status.LastAppliedRevision != built.revision {
		return true
	}
	if st.applied != nil {
		return st.applied.revision != built.revision || st.applied.generation != built.generation
	}
	reason := readyReason(obj)
	return obj.Status.ObservedGeneration != obj.Generation ||
		(reason != v1alpha1.ReasonSynced && reason != v1alpha1.ReasonDriftDetected)
}

// fetch fetches spec.source.
func (r *IntentSyncReconciler) fetch(ctx context.Context, obj *v1alpha1.IntentSync) (*source.Artifact, error) {
	defer observeStep(obj, "fetch", r.now())
	auth, err := r.auth(ctx, obj)
	if err != nil {
		return nil, err
	}
	src := obj.Spec.Source
	var timeout time.Duration
	if src.Timeout != nil {
		timeout = src.Timeout.Duration
	}
	return r.Fetcher.Fetch(ctx, source.Options{
		URL:     src.URL,
		Ref:     source.Ref{Branch: src.Branch, Tag: src.Tag, Commit: src.Commit},
		Auth:    auth,
		Timeout: timeout,
	})
}

// build renders and validates art, reusing the last build of the same
// revision and generation. The report is nil when the build was reused.
func (r *IntentSyncReconciler) build(ctx context.Context, obj *v1alpha1.IntentSync, st *syncState, art *source.Artifact, tg *target) (*appliedSet, *validate.Report, error) {
	if a := st.applied; a != nil && a.revision == art.Revision && a.generation == obj.Generation {
		return a, nil, nil
	}
	defer observeStep(obj, "build", r.now())
	ctrl.LoggerFrom(ctx).V(1).Info("rendering", "revision", art.Revision, "generation", obj.Generation)
	var policyDirs []string
	for _, d := range obj.Spec.PolicyDirs {
		abs, err := inRepo(art.Dir, d)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.policyDirs: %w", err)
		}
		policyDirs = append(policyDirs, abs)
	}
	fence := r.Fence.For(obj.Spec)
	out, err := pipeline.Build(ctx, pipeline.Options{
		Root:          art.Dir,
		Path:          obj.Spec.Source.Path,
		PolicyDirs:    policyDirs,
		Data:          fence.Data(),
		DataFor:       liveData(tg.live, obj, art.Revision),
		Cache:         st.cache,
		PolicyTimeout: policyTimeoutOf(obj),
		YAMLLimits:    r.YAMLLimits,
	})
	if err != nil {
		return nil, nil, err
	}
	recordFallback(out.Render.Fallback)
	fenced := fence.Check(out.Render.Intents, out.Render.Objects)
	pipeline.LocateResults(out.Render, fenced)
	report := withFence(out.Report, fenced)
	ignore := ignoreRules(out.Config.Ignore, obj.Spec.Ignore)
	built, err := newAppliedSet(art.Revision, obj.Generation, label(out.Render.Objects, obj.Namespace, obj.Name), ignore)
	if err != nil {
		return nil, nil, err
	}
	return built, report, nil
}

// policyTimeoutOf is spec.policyTimeout; 0 (the default) when unset.
func policyTimeoutOf(obj *v1alpha1.IntentSync) time.Duration {
	if obj.Spec.PolicyTimeout == nil {
		return 0
	}
	return obj.Spec.PolicyTimeout.Duration
}

// inRepo resolves a repository-relative directory, refusing to leave root.
func inRepo(root, rel string) (string, error) {
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("%q is not relative to the repository", rel)
	}
	abs := filepath.Join(root, filepath.FromSlash(rel))
	if r, err := filepath.Rel(root, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%q is outside the repository", rel)
	}
	return abs, nil
}

// label labels set's objects in place with the IntentSync that applies
// them, and returns set. The set must be the caller's own, as a render's
// result is (the render cache keeps encoded copies): the applied set lives
// as long as the IntentSync, and labelling copies would keep a second
// metadata per object.
func label(set manifest.Set, namespace, name string) manifest.Set {
	for _, o := range set {
		meta, ok := o.Object["metadata"].(map[string]any)
		if !ok {
			meta = map[string]any{}
			o.Object["metadata"] = meta
		}
		labels, ok := meta["labels"].(map[string]any)
		if !ok {
			labels = make(map[string]any, 2)
			meta["labels"] = labels
		}
		labels[SyncNamespaceLabel] = namespace
		labels[SyncNameLabel] = name
	}
	return set
}

// inventoryName is the inventory ConfigMap of obj: unique per IntentSync.
func inventoryName(obj *v1alpha1.IntentSync) string {
	return obj.Namespace + "." + obj.Name
}

// refString describes what spec.source follows, for attempts without a
// fetched revision.
func refString(src v1alpha1.GitSource) string {
	switch {
	case src.Commit != "":
		return "sha1:" + src.Commit
	case src.Tag != "":
		return src.Tag
	case src.Branch != "":
		return src.Branch
	default:
		return "HEAD"
	}
}

// failure describes a failed step.
type failure struct {
	step     string
	reason   string
	revision string
	started  time.Time
	err      error
	// stalled marks a known-bad revision or spec.
	stalled bool
	// retry, with stalled, still tries the revision again at the poll
	// interval (a dry-run failure may be the cluster's fault).
	retry bool
}

// fail records f in status, history, events and metrics, and says when to
// try again: at the poll interval when stalled, after an exponential
// backoff capped by spec.retryInterval otherwise.
func (r *IntentSyncReconciler) fail(ctx context.Context, obj *v1alpha1.IntentSync, st *syncState, f failure) ctrl.Result {
	log := ctrl.LoggerFrom(ctx)
	msg := f.err.Error()
	var wait time.Duration
	st.checked = checkedMark{} // the next success checks in full
	if f.stalled {
		wait = intervalOf(obj)
		st.failures = 0
		if !f.retry {
			st.stalled = stalledKey{revision: f.revision, generation: obj.Generation, reason: f.reason, message: msg}
		}
		if f.revision != "" && f.revision != refString(obj.Spec.Source) {
			obj.Status.LastAttemptedRevision = f.revision
		}
	} else {
		st.failures++
		wait = backoff(st.failures, firstRetry, retryCapOf(obj))
	}
	markFailed(obj, f.reason, msg, f.stalled, wait)
	obj.Status.ObservedGeneration = obj.Generation
	obj.Status.History = addAttempt(obj.Status.History, v1alpha1.Attempt{
		Revision: f.revision, Result: f.reason,
		StartedAt: metav1.NewTime(f.started), Duration: metav1.Duration{Duration: r.now().Sub(f.started)},
		Message: msg, Commit: st.fetched.commitOf(f.revision),
	})
	r.Recorder.Event(obj, corev1.EventTypeWarning, f.reason, truncate(msg, messageLimit))
	reconcileTotal.WithLabelValues(f.reason).Inc()
	log.Info("reconcile failed", "step", f.step, "reason", f.reason, "revision", f.revision,
		"stalled", f.stalled, "retryIn", wait, "error", msg)
	return ctrl.Result{RequeueAfter: wait}
}

// syncFinalizer adds the finalizer when spec.prune is on and removes it
// when it is off. The patch changes metadata only, so it does not wake the
// reconciler.
func (r *IntentSyncReconciler) syncFinalizer(ctx context.Context, obj *v1alpha1.IntentSync) error {
	has := controllerutil.ContainsFinalizer(obj, Finalizer)
	if has == obj.Spec.Prune {
		return nil
	}
	base := obj.DeepCopy()
	if obj.Spec.Prune {
		controllerutil.AddFinalizer(obj, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, Finalizer)
	}
	if err := r.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("updating finalizer of IntentSync %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return nil
}

// finalize prunes everything the IntentSync applied (it holds the finalizer
// only with spec.prune), deletes its inventory and releases the object.
// Namespaces are kept; only meshintent's labels are removed from them.
func (r *IntentSyncReconciler) finalize(ctx context.Context, obj *v1alpha1.IntentSync) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(obj)
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		r.states.forget(key)
		r.fleet.release(key)
		return ctrl.Result{}, nil
	}
	// Prune in the IntentSync's cluster, as its ServiceAccount. A remote
	// cluster whose kubeconfig Secret is gone cannot be pruned: its
	// objects are left there, and the IntentSync is let go.
	var tg *target
	if !obj.Spec.Suspend {
		var err error
		tg, _, err = r.targetFor(ctx, obj, false)
		switch {
		case err != nil && obj.Spec.KubeConfig != nil && apierrors.IsNotFound(err):
			r.Recorder.Eventf(obj, corev1.EventTypeWarning, v1alpha1.ReasonClusterUnreachable, "not pruned before deletion: %s", truncate(err.Error(), messageLimit))
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("pruning IntentSync %s/%s before deletion: %w", obj.Namespace, obj.Name, err)
		}
	}
	if tg != nil {
		res, err := tg.apply.Apply(ctx, nil, apply.ApplyOptions{Prune: true, AllowEmpty: true, Inventory: inventoryName(obj)})
		if err != nil {
			r.Recorder.Eventf(obj, corev1.EventTypeWarning, v1alpha1.ReasonApplyFailed, "pruning before deletion: %s", truncate(err.Error(), messageLimit))
			return ctrl.Result{}, fmt.Errorf("pruning IntentSync %s/%s before deletion: %w", obj.Namespace, obj.Name, err)
		}
		r.Recorder.Eventf(obj, corev1.EventTypeNormal, EventPruned, "pruned before deletion: %s", res.ChangeSet.Summary())
		inv := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tg.apply.Options().InventoryNamespace, Name: inventoryName(obj)}}
		if err := tg.apply.Client().Delete(ctx, inv); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("deleting inventory of IntentSync %s/%s: %w", obj.Namespace, obj.Name, err)
		}
	}
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := r.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("removing finalizer of IntentSync %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	r.states.forget(key)
	r.fleet.release(key)
	forgetMetrics(obj.Namespace, obj.Name)
	return ctrl.Result{}, nil
}

// transientDryRun reports whether every failure of a dry-run is the API
// server being unavailable rather than a verdict on the objects: a dropped
// connection, a timeout, throttling or a server error. Such a revision is not
// bad: it is retried with backoff like any other transient failure, instead
// of waiting for the next poll as a rejected revision does.
func transientDryRun(dr *apply.DryRunError) bool {
	if len(dr.Failures) == 0 {
		return false
	}
	for _, f := range dr.Failures {
		err := f.Err
		switch {
		case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
			apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		case utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err),
			errors.Is(err, context.DeadlineExceeded):
		default:
			var se apierrors.APIStatus
			if errors.As(err, &se) && se.Status().Code >= 500 {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return false
		}
	}
	return true
}

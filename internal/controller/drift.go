package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// maxEventEntries is how many drift entries one Event names.
const maxEventEntries = 5

// foreignChange passes the events of managed objects that may be drift:
// deletes, and updates that change the generation (spec), labels or
// annotations and whose latest write is not the controller's own (so status
// updates, resourceVersion and managedFields churn and our own applies are
// dropped). Creates are dropped: the cache lists every managed object at
// start, and objects only appear through our applies.
func foreignChange(fieldManager string) predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return false
			}
			return meaningfulChange(e.ObjectOld, e.ObjectNew) && !lastWriteIsOurs(e.ObjectNew, fieldManager)
		},
	}
}

// meaningfulChange reports whether an update changed more than status or
// bookkeeping: the generation (bumped by spec changes when a status
// subresource exists), the labels or the annotations.
func meaningfulChange(old, new client.Object) bool {
	return old.GetGeneration() != new.GetGeneration() ||
		!maps.Equal(old.GetLabels(), new.GetLabels()) ||
		!maps.Equal(old.GetAnnotations(), new.GetAnnotations())
}

// lastWriteIsOurs reports whether the newest managedFields entries all
// belong to fieldManager. Times have a one-second resolution, so when
// another manager wrote in the same second the change counts as foreign.
func lastWriteIsOurs(o client.Object, fieldManager string) bool {
	var latest metav1.Time
	for _, f := range o.GetManagedFields() {
		if f.Time != nil && f.Time.After(latest.Time) {
			latest = *f.Time
		}
	}
	ours := false
	for _, f := range o.GetManagedFields() {
		if f.Time == nil || !f.Time.Equal(&latest) {
			continue
		}
		if f.Manager != fieldManager {
			return false
		}
		ours = true
	}
	return ours
}

// mapManaged maps an event on a managed object of kind to the IntentSync
// named by its labels, and records the object as touched so the drift
// reconciler checks only it. Objects of IntentSyncs this process has not
// reconciled yet are passed over: their first reconcile checks everything.
func (r *IntentSyncReconciler) mapManaged(kind string) func(context.Context, client.Object) []reconcile.Request {
	return r.mapManagedIn("", kind)
}

// mapManagedIn is mapManaged for the watches of remote cluster hash (""
// for the local cluster): an object is mapped only to an IntentSync that
// applies to the cluster it was seen in.
func (r *IntentSyncReconciler) mapManagedIn(hash, kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		labels := o.GetLabels()
		key := types.NamespacedName{Namespace: labels[SyncNamespaceLabel], Name: labels[SyncNameLabel]}
		if key.Namespace == "" || key.Name == "" || (r.Namespace != "" && key.Namespace != r.Namespace) {
			return nil
		}
		st := r.states.lookup(key)
		if st == nil || r.fleet.clusterOf(key) != hash {
			return nil
		}
		st.touch(manifest.ObjectID(kind, o.GetNamespace(), o.GetName()))
		return []reconcile.Request{{NamespacedName: key}}
	}
}

// reconcileDrift checks the objects of one IntentSync that someone else
// changed or deleted against the set last applied, records the drift in
// status and Events, and in correct mode re-applies them.
func (r *IntentSyncReconciler) reconcileDrift(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.counts.inc(&r.counts.drift, req.NamespacedName)
	st := r.states.lookup(req.NamespacedName)
	if st == nil {
		return ctrl.Result{}, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	touched := st.takeTouched()
	if len(touched) == 0 || st.applied == nil || st.target == nil {
		return ctrl.Result{}, nil
	}
	// The cluster and identity of the last sync.
	tg := st.target
	subset, err := st.applied.lazy(func(id string) bool { return touched[id] })
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(subset) == 0 {
		return ctrl.Result{}, nil // e.g. pruned by the last apply
	}

	// Get the IntentSync; suspended ones are left alone.
	obj := &v1alpha1.IntentSync{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if obj.Spec.Suspend || !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	base := obj.DeepCopy()

	// Compare the touched objects with Git.
	start := r.now()
	report, err := tg.apply.Drift(ctx, subset, apply.DriftOptions{Ignore: st.applied.ignore, MeshKinds: []schema.GroupVersionKind{}})
	observeStep(obj, "drift", start)
	if err != nil {
		for id := range touched {
			st.touch(id) // check them again on the retry
		}
		return ctrl.Result{}, fmt.Errorf("checking drift of IntentSync %s: %w", req.NamespacedName, err)
	}
	ids := make([]string, 0, len(subset))
	for _, o := range subset {
		ids = append(ids, o.ID())
	}
	found := r.recordDrift(obj, st, report, ids)

	// Revert it in correct mode.
	if obj.Spec.DriftMode == v1alpha1.DriftModeCorrect && len(found) > 0 {
		r.correct(ctx, obj, st, found, tg)
	}
	r.setDriftStatus(obj, st, false)
	return ctrl.Result{}, r.patchStatus(ctx, base, obj)
}

// checkDrift is the periodic full check of the applied set (report mode;
// correct mode re-applies instead): drifted fields, missing, unmanaged and
// stale objects. A failure is logged and left for the next poll; it
// returns whether the check was done.
func (r *IntentSyncReconciler) checkDrift(ctx context.Context, obj *v1alpha1.IntentSync, st *syncState, tg *target) bool {
	start := r.now()
	set, err := st.applied.lazy(nil)
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("drift check failed", "error", err.Error())
		return false
	}
	report, err := tg.apply.Drift(ctx, set, apply.DriftOptions{Ignore: st.applied.ignore, Inventory: inventoryName(obj)})
	observeStep(obj, "drift", start)
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("drift check failed", "error", err.Error())
		return false
	}
	ids := st.applied.ids()
	for id := range st.drift {
		if !slices.Contains(ids, id) {
			delete(st.drift, id) // a full check replaces what is known
		}
	}
	r.recordDrift(obj, st, report, ids)
	st.unmanaged = len(report.Unmanaged)
	r.setDriftStatus(obj, st, true)
	obj.Status.ObservedGeneration = obj.Generation
	return true
}

// recordDrift replaces the known drift of the checked objects ids with what
// report says, emits DriftDetected for drift not known before, and returns
// the IDs of the objects found drifted or missing.
func (r *IntentSyncReconciler) recordDrift(obj *v1alpha1.IntentSync, st *syncState, report *apply.Report, ids []string) []string {
	now := map[string]objectDrift{}
	for _, f := range report.Drifted {
		d := now[f.ID]
		d.fields = append(d.fields, f)
		now[f.ID] = d
	}
	for _, m := range report.Missing {
		d := now[m.ID]
		d.missing = true
		now[m.ID] = d
	}
	var fresh []string
	for _, id := range ids {
		old, had := st.drift[id]
		d, has := now[id]
		switch {
		case !has:
			delete(st.drift, id)
		case !had || !slices.Equal(objectDriftEntries(id, old), objectDriftEntries(id, d)):
			fresh = append(fresh, objectDriftEntries(id, d)...)
			st.drift[id] = d
		default:
			st.drift[id] = d
		}
	}
	if len(fresh) > 0 {
		msg := fmt.Sprintf("drift detected: %s", strings.Join(fresh[:min(len(fresh), maxEventEntries)], "; "))
		if n := len(fresh) - maxEventEntries; n > 0 {
			msg += fmt.Sprintf(" (and %d more)", n)
		}
		r.Recorder.Event(obj, corev1.EventTypeWarning, v1alpha1.ReasonDriftDetected, truncate(msg, messageLimit))
	}
	return slices.Sorted(maps.Keys(now))
}

// correct re-applies the drifted objects ids with force, taking their fields
// back from other managers; deleted objects are created again.
func (r *IntentSyncReconciler) correct(ctx context.Context, obj *v1alpha1.IntentSync, st *syncState, ids []string, tg *target) {
	set, err := st.applied.lazy(func(id string) bool { return slices.Contains(ids, id) })
	if err != nil {
		r.Recorder.Eventf(obj, corev1.EventTypeWarning, v1alpha1.ReasonApplyFailed, "correcting drift: %s", truncate(err.Error(), messageLimit))
		return
	}
	start := r.now()
	res, err := tg.apply.Apply(ctx, set, apply.ApplyOptions{Force: true, CreateNamespaces: obj.Spec.CreateNamespaces})
	observeStep(obj, "correct", start)
	if err != nil {
		r.Recorder.Eventf(obj, corev1.EventTypeWarning, v1alpha1.ReasonApplyFailed, "correcting drift: %s", truncate(err.Error(), messageLimit))
		return
	}
	for _, id := range ids {
		delete(st.drift, id)
	}
	st.corrected += len(ids)
	r.Recorder.Eventf(obj, corev1.EventTypeNormal, EventDriftCorrected, "re-applied %s of revision %s: %s",
		strings.Join(ids, ", "), st.applied.revision, res.ChangeSet.Summary())
}

// setDriftStatus writes the known drift into status and decides Ready
// from it: False with DriftDetected while anything drifted, True again once
// nothing has. With decide false (the drift reconciler) Ready is only
// touched while it speaks of the applied revision, so a failure of a newer
// revision is not hidden.
func (r *IntentSyncReconciler) setDriftStatus(obj *v1alpha1.IntentSync, st *syncState, decide bool) {
	r.publishDrift(obj, st)
	reason := readyReason(obj)
	if !decide && (obj.Status.LastAppliedRevision != st.applied.revision ||
		(reason != v1alpha1.ReasonSynced && reason != v1alpha1.ReasonDriftDetected)) {
		return
	}
	if driftCount(st.drift) > 0 {
		markDrifted(obj, driftSummary(st.drift))
	} else {
		markSynced(obj, st.applied.revision)
	}
}

// publishDrift puts the drift st knows of into obj's status.drift and the
// drifted-objects metric, both counted from the same findings.
func (r *IntentSyncReconciler) publishDrift(obj *v1alpha1.IntentSync, st *syncState) {
	obj.Status.Drift = driftStatus(st.drift, st.unmanaged, st.corrected, r.now())
	driftedObjects.WithLabelValues(obj.Namespace, obj.Name).Set(float64(driftCount(st.drift)))
}

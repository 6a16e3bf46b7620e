package controller

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// This file is the one place that writes IntentSync status: every
// Status().Patch of the package is in statusWriter, and every condition is
// set or removed by the mark… functions below (apimeta helpers only).
// status.go shapes the values that go into status (history, inventory,
// policy and drift summaries); the callers decide when to write.

// statusWriter writes IntentSync status for every controller of the
// package: the sync and drift reconcilers (through a statusPatcher, see
// newPatcher) and the drift report scheduler (update).
//
// Locking: there is no in-process lock. Every write is a JSON merge patch
// of the status subresource that carries the resourceVersion its change was
// computed against (optimistic locking). When the API server answers
// Conflict, the writer reads the IntentSync again from the API server (not
// a cache), makes the caller's change again on what it read, and retries
// (retry.DefaultBackoff). So writers in different goroutines (the sync,
// drift and report controllers, cron runs) and in different replicas never
// drop each other's changes, although a merge patch replaces the
// conditions list whole: a change is re-made per condition type and per
// status field, never by writing back a stale list. The sync and drift
// reconcilers of one IntentSync are in addition serialised by
// syncState.mu, for the cluster's sake rather than status's.
type statusWriter struct {
	// client reads IntentSyncs from the API server and patches their
	// status; it must not read a cache, or a retry could see the same stale
	// resourceVersion again.
	client client.Client
}

// newStatusWriter returns a writer using c, which must read the API server
// directly.
func newStatusWriter(c client.Client) statusWriter { return statusWriter{client: c} }

// statusWriter returns the reconciler's status writer: the same one the
// report scheduler uses, on the client pkg/apply reads the API server with.
func (r *IntentSyncReconciler) statusWriter() statusWriter {
	return newStatusWriter(r.Apply.Client())
}

// update reads the IntentSync key from the API server, applies mutate to it
// and patches the status when mutate changed it, retrying from the read on
// a conflict (so mutate may run several times and must only depend on its
// argument and the caller's own data). It returns the object as written or
// as read when nothing changed; NotFound is not an error (the object is
// then nil).
func (w statusWriter) update(ctx context.Context, key types.NamespacedName, mutate func(*v1alpha1.IntentSync)) (*v1alpha1.IntentSync, error) {
	var obj *v1alpha1.IntentSync
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		obj = &v1alpha1.IntentSync{}
		if err := w.client.Get(ctx, key, obj); err != nil {
			return err
		}
		return w.patch(ctx, obj, mutate)
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("patching status of IntentSync %s: %w", key, err)
	}
	return obj, nil
}

// patch applies mutate to obj and, when the status changed, patches it
// optimistically locked on obj's resourceVersion. obj is left as the API
// server answered.
func (w statusWriter) patch(ctx context.Context, obj *v1alpha1.IntentSync, mutate func(*v1alpha1.IntentSync)) error {
	base := obj.DeepCopy()
	mutate(obj)
	if equality.Semantic.DeepEqual(base.Status, obj.Status) {
		return nil
	}
	return w.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// statusPatcher writes the status changes a reconciler makes to its copy of
// an IntentSync, one patch per step, as Flux's SerialPatcher does: each
// patch carries what changed since the last one written.
type statusPatcher struct {
	w statusWriter
	// written is the object as last written (or read, before the first
	// write); changes are computed against it.
	written *v1alpha1.IntentSync
}

// newPatcher returns a patcher for obj, as read; obj's status may be
// changed freely from here on and written with progress and finish.
func (w statusWriter) newPatcher(obj *v1alpha1.IntentSync) *statusPatcher {
	return &statusPatcher{w: w, written: obj.DeepCopy()}
}

// progress writes the status changes made to obj since the last write: a
// progress message between steps. A failure is only logged, as the next
// write carries the changes again.
func (p *statusPatcher) progress(ctx context.Context, obj *v1alpha1.IntentSync) {
	if err := p.write(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		ctrl.LoggerFrom(ctx).V(1).Info("patching progress", "error", err.Error())
	}
}

// finish writes the status changes made to obj since the last write, when
// there are any. It runs even when ctx is done (the manager is stopping),
// within statusTimeout, so an interrupted attempt is still on record.
// NotFound is not an error: the object is gone.
func (p *statusPatcher) finish(ctx context.Context, obj *v1alpha1.IntentSync) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancel()
	if err := p.write(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status of IntentSync %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return nil
}

// write patches the changes from p.written to obj. The first attempt
// patches obj itself, locked on the resourceVersion of p.written; after a conflict the
// changes are made again on the object read from the API server. obj is
// then left as the API server answered, and becomes p.written.
func (p *statusPatcher) write(ctx context.Context, obj *v1alpha1.IntentSync) error {
	if equality.Semantic.DeepEqual(p.written.Status, obj.Status) {
		return nil
	}
	change := statusChange(&p.written.Status, &obj.Status)
	first := true
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if first {
			first = false
			return p.w.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(p.written, client.MergeFromWithOptimisticLock{}))
		}
		fresh := &v1alpha1.IntentSync{}
		if err := p.w.client.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
			return err
		}
		if err := p.w.patch(ctx, fresh, func(o *v1alpha1.IntentSync) { change(&o.Status) }); err != nil {
			return err
		}
		fresh.DeepCopyInto(obj)
		return nil
	})
	if err != nil {
		return err
	}
	p.written = obj.DeepCopy()
	return nil
}

// statusChange returns the change from before to after as a function that
// makes it on another status: each field that differs is set to after's
// value, and conditions are changed per type (set when after's differs
// from before's, removed when after has none), so the conditions of other
// writers are kept.
func statusChange(before, after *v1alpha1.IntentSyncStatus) func(*v1alpha1.IntentSyncStatus) {
	before, after = before.DeepCopy(), after.DeepCopy()
	return func(s *v1alpha1.IntentSyncStatus) {
		want := after.DeepCopy() // the change may be made several times
		bv, av, sv := reflect.ValueOf(before).Elem(), reflect.ValueOf(want).Elem(), reflect.ValueOf(s).Elem()
		for i := range bv.NumField() {
			if bv.Type().Field(i).Name == "Conditions" {
				continue
			}
			if !equality.Semantic.DeepEqual(bv.Field(i).Interface(), av.Field(i).Interface()) {
				sv.Field(i).Set(av.Field(i))
			}
		}
		for _, c := range before.Conditions {
			if apimeta.FindStatusCondition(after.Conditions, c.Type) == nil {
				apimeta.RemoveStatusCondition(&s.Conditions, c.Type)
			}
		}
		for _, c := range want.Conditions {
			if old := apimeta.FindStatusCondition(before.Conditions, c.Type); old == nil || !equality.Semantic.DeepEqual(*old, c) {
				apimeta.SetStatusCondition(&s.Conditions, c)
			}
		}
	}
}

// setCondition sets a condition of obj for its current generation.
func setCondition(obj *v1alpha1.IntentSync, typ string, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            truncate(msg, messageLimit),
		ObservedGeneration: obj.Generation,
	})
}

// markProgressing says a reconcile is under way; Ready is left as it is.
func markProgressing(obj *v1alpha1.IntentSync, msg string) {
	setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressing, msg)
}

// markSynced says the revision is applied and the cluster equals it.
func markSynced(obj *v1alpha1.IntentSync, revision string) {
	msg := "applied revision " + revision
	setCondition(obj, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSynced, msg)
	setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSynced, msg)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionStalled)
}

// markDrifted says the revision is applied but the cluster has drifted
// from it (report mode). It is neither reconciling nor stalled: the next
// commit or a correction brings it back.
func markDrifted(obj *v1alpha1.IntentSync, msg string) {
	setCondition(obj, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonDriftDetected, msg)
	setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonDriftDetected, msg)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionStalled)
}

// markFailed records a failed step. A stalled failure (a known-bad revision
// or spec) is not retried until Git or the spec changes; any other is
// retried, and Reconciling stays True meanwhile.
func markFailed(obj *v1alpha1.IntentSync, reason, msg string, stalled bool, retryIn time.Duration) {
	setCondition(obj, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	if stalled {
		setCondition(obj, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionFalse, reason, msg)
		return
	}
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionStalled)
	setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressing,
		fmt.Sprintf("retrying in %s after %s: %s", retryIn.Round(time.Millisecond), reason, msg))
}

// markSuspended says nothing is reconciled; Ready keeps its last value.
func markSuspended(obj *v1alpha1.IntentSync) {
	setCondition(obj, v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonSuspended, "reconciliation is suspended")
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ConditionStalled)
}

// markReportScheduled says drift reports run on the schedule msg describes.
func markReportScheduled(obj *v1alpha1.IntentSync, msg string) {
	setCondition(obj, ConditionDriftReportScheduled, metav1.ConditionTrue, ReasonReportScheduled, msg)
}

// markReportScheduleInvalid says spec.driftReport cannot be scheduled, and
// why.
func markReportScheduleInvalid(obj *v1alpha1.IntentSync, msg string) {
	setCondition(obj, ConditionDriftReportScheduled, metav1.ConditionFalse, ReasonReportScheduleInvalid, msg)
}

// clearReportScheduled removes DriftReportScheduled: no reports are asked
// for.
func clearReportScheduled(obj *v1alpha1.IntentSync) {
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, ConditionDriftReportScheduled)
}

// conditionIs reports whether obj's DriftReportScheduled condition has
// status, reason and message, as setCondition would write them now.
func conditionIs(obj *v1alpha1.IntentSync, status metav1.ConditionStatus, reason, msg string) bool {
	c := apimeta.FindStatusCondition(obj.Status.Conditions, ConditionDriftReportScheduled)
	return c != nil && c.Status == status && c.Reason == reason && c.Message == truncate(msg, messageLimit) &&
		c.ObservedGeneration == obj.Generation
}

// isReady reports whether Ready is True.
func isReady(obj *v1alpha1.IntentSync) bool {
	return apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionReady)
}

// readyReason returns the reason of the Ready condition, or "".
func readyReason(obj *v1alpha1.IntentSync) string {
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

// patchStatus writes the status changes made to obj since base (obj as
// read) in one patch, as statusPatcher.finish does: for a reconciler that
// writes once, such as the drift reconciler.
func (r *IntentSyncReconciler) patchStatus(ctx context.Context, base, obj *v1alpha1.IntentSync) error {
	return r.statusWriter().newPatcher(base).finish(ctx, obj)
}

package controller

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/webhook"
)

// triggerBuffer is how many webhook triggers may wait for the sync
// controller; more are dropped (the poll still catches up).
const triggerBuffer = 1024

// Trigger is the webhook receiver's webhook.Trigger: it reconciles at once
// every IntentSync whose source URL is one of ev.RepoURLs (compared with
// webhook.MatchKey) and whose ref the push moved, and returns how many.
// A triggered reconcile fetches whatever the poll interval or a backoff
// says. Suspended IntentSyncs and those pinned to a commit are passed over.
func (r *IntentSyncReconciler) Trigger(ctx context.Context, ev webhook.Event) int {
	log := logf.FromContext(ctx).WithValues("provider", ev.Provider, "delivery", ev.DeliveryID)
	var list v1alpha1.IntentSyncList
	var opts []client.ListOption
	if r.Namespace != "" {
		opts = append(opts, client.InNamespace(r.Namespace))
	}
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		log.Error(err, "listing IntentSyncs for a webhook")
		return 0
	}
	urls := map[string]bool{}
	for _, u := range ev.RepoURLs {
		urls[webhook.MatchKey(u)] = true
	}
	n := 0
	for i := range list.Items {
		obj := &list.Items[i]
		if obj.Spec.Suspend || !urls[webhook.MatchKey(obj.Spec.Source.URL)] || !refMoved(obj.Spec.Source, ev) {
			continue
		}
		if r.requestReconcile(ctx, obj) {
			n++
		}
	}
	log.Info("webhook push", "branch", ev.Branch, "tag", ev.Tag, "commit", ev.Commit, "triggered", n)
	return n
}

// refMoved says whether a push of ev may have moved what src follows. An
// event without a branch or tag (a generic hook) moves everything but a
// pinned commit; a source without a ref follows the default branch, which
// the event does not name, so any branch push may be it.
func refMoved(src v1alpha1.GitSource, ev webhook.Event) bool {
	switch {
	case src.Commit != "":
		return false
	case ev.Branch == "" && ev.Tag == "":
		return true
	case src.Tag != "":
		return ev.Tag == src.Tag
	case src.Branch != "":
		return ev.Branch == src.Branch
	default:
		return ev.Branch != ""
	}
}

// requestReconcile enqueues obj at once on the leader. A replica that does
// not lead (its controllers are not running) stamps RequestedAtAnnotation
// instead, which the leader's watch turns into a reconcile.
func (r *IntentSyncReconciler) requestReconcile(ctx context.Context, obj *v1alpha1.IntentSync) bool {
	if r.leading() {
		select {
		case r.trigger <- event.GenericEvent{Object: obj.DeepCopy()}:
			return true
		default:
			logf.FromContext(ctx).Info("webhook trigger queue full; the poll will catch up", "intentsync", client.ObjectKeyFromObject(obj))
			return false
		}
	}
	base := obj.DeepCopy()
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[RequestedAtAnnotation] = r.now().UTC().Format(time.RFC3339Nano)
	obj.SetAnnotations(annotations)
	if err := r.Client.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		logf.FromContext(ctx).Error(err, "requesting a reconcile", "intentsync", client.ObjectKeyFromObject(obj))
		return false
	}
	return true
}

// leading reports whether this replica's controllers run.
func (r *IntentSyncReconciler) leading() bool {
	if r.elected == nil {
		return true
	}
	select {
	case <-r.elected:
		return true
	default:
		return false
	}
}

// requestedOrDeleted passes IntentSync updates that stamp a new
// RequestedAtAnnotation or start deletion; with GenerationChangedPredicate
// it keeps status and other metadata updates from waking the controller.
func requestedOrDeleted() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return false
			}
			return e.ObjectOld.GetAnnotations()[RequestedAtAnnotation] != e.ObjectNew.GetAnnotations()[RequestedAtAnnotation] ||
				(e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil)
		},
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

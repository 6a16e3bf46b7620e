package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
)

// OwnedElsewhereError is the cause when an object of a revision is applied
// by another IntentSync whose applied set still holds it. An object belongs
// to one IntentSync: two would undo each other's changes at every sync.
type OwnedElsewhereError struct {
	// Owner is the IntentSync that applied the object.
	Owner types.NamespacedName
}

func (e *OwnedElsewhereError) Error() string {
	return fmt.Sprintf("applied by IntentSync %s, whose revision still holds it; "+
		"an object belongs to one IntentSync: remove it from one of the two repositories", e.Owner)
}

// claimedElsewhere returns a failure for each object of set whose live copy
// is labelled as applied by another IntentSync (the watch cache's metadata
// says so) that still holds it: in its applied set, or, when this process
// has not reconciled that IntentSync yet, in its inventory. An IntentSync
// that is gone, or whose revision dropped the object, leaves it to be
// taken over.
func (r *IntentSyncReconciler) claimedElsewhere(ctx context.Context, obj *v1alpha1.IntentSync, set *appliedSet) ([]*apply.ObjectError, error) {
	return r.claimedElsewhereIn(ctx, &target{apply: r.Apply, controller: r.Apply, watch: r.Client, kinds: r.watched}, obj, set)
}

// claimedElsewhereIn is claimedElsewhere in the cluster of tg (fleet.go):
// its watch cache's labels, and the owners' inventories there.
func (r *IntentSyncReconciler) claimedElsewhereIn(ctx context.Context, tg *target, obj *v1alpha1.IntentSync, set *appliedSet) ([]*apply.ObjectError, error) {
	self := client.ObjectKeyFromObject(obj)
	watched := map[schema.GroupKind]schema.GroupVersionKind{}
	for _, gvk := range tg.kinds {
		watched[gvk.GroupKind()] = gvk
	}
	// The set's objects by watched kind and namespace, then name.
	type group struct {
		gvk schema.GroupVersionKind
		ns  string
	}
	groups := map[group]map[string]*packedObject{}
	var order []group
	for i := range set.objects {
		o := &set.objects[i]
		gvk, ok := watched[refOf(o).GroupVersionKind().GroupKind()]
		if !ok {
			continue // not watched: its labels are unknown
		}
		g := group{gvk, o.namespace}
		if groups[g] == nil {
			groups[g] = map[string]*packedObject{}
			order = append(order, g)
		}
		groups[g][o.name] = o
	}

	var failures []*apply.ObjectError
	holds := map[types.NamespacedName]func(*packedObject) bool{}
	for _, g := range order {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		opts := []client.ListOption{client.HasLabels{SyncNameLabel}, client.UnsafeDisableDeepCopy}
		if g.ns != "" {
			opts = append(opts, client.InNamespace(g.ns))
		}
		if err := tg.watch.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %s from the watch cache: %w", g.gvk.Kind, err)
		}
		for i := range list.Items {
			o := groups[g][list.Items[i].Name]
			labels := list.Items[i].GetLabels()
			owner := types.NamespacedName{Namespace: labels[SyncNamespaceLabel], Name: labels[SyncNameLabel]}
			if o == nil || owner == self {
				continue
			}
			held, ok := holds[owner]
			if !ok {
				var err error
				if held, err = r.holder(ctx, tg, owner); err != nil {
					return nil, err
				}
				holds[owner] = held
			}
			if held(o) {
				failures = append(failures, &apply.ObjectError{
					ID: o.id, Object: refOf(o), Source: o.source, Op: "not applied",
					Err: &OwnedElsewhereError{Owner: owner},
				})
			}
		}
	}
	return failures, nil
}

// holder returns whether the IntentSync owner holds an object: in the set
// it last applied, or in its inventory when this process has none.
func (r *IntentSyncReconciler) holder(ctx context.Context, tg *target, owner types.NamespacedName) (func(*packedObject) bool, error) {
	if st := r.states.lookup(owner); st != nil {
		if applied := st.current.Load(); applied != nil {
			return func(o *packedObject) bool { return applied.has(o.id) }, nil
		}
	}
	other := &v1alpha1.IntentSync{}
	var reader client.Reader = r.Client
	if r.APIReader != nil {
		reader = r.APIReader // the owner may be another shard's
	}
	switch err := reader.Get(ctx, owner, other); {
	case apierrors.IsNotFound(err):
		return func(*packedObject) bool { return false }, nil
	case err != nil:
		return nil, fmt.Errorf("reading IntentSync %s: %w", owner, err)
	}
	inv, err := tg.controller.ReadInventory(ctx, inventoryName(other))
	if err != nil {
		return nil, err
	}
	return func(o *packedObject) bool { return inv.Has(refOf(o)) }, nil
}

// refOf returns the ObjectRef of o.
func refOf(o *packedObject) apply.ObjectRef {
	gvk := schema.FromAPIVersionAndKind(o.apiVersion, o.kind)
	return apply.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: o.kind, Namespace: o.namespace, Name: o.name}
}

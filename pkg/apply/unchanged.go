package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/canonical"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// DigestAnnotation holds a digest of the configuration meshintent applied to
// an object. With it, a re-apply can tell an object is unchanged from a list
// instead of a read and a dry-run per object.
const DigestAnnotation = "meshintent.io/applied-digest"

// setDigest annotates u with the digest of its content (without the
// annotation itself), hashed in the canonical encoding: equal objects give
// equal digests, and it is several times cheaper than encoding/json, which
// matters when a no-op apply digests thousands of objects. scratch is
// reused for the encoding.
func setDigest(u *unstructured.Unstructured, scratch *[]byte) error {
	meta, ok := u.Object["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		u.Object["metadata"] = meta
	}
	ann, _ := meta["annotations"].(map[string]any)
	ann = maps.Clone(ann) // u's metadata may be a copy sharing the map
	delete(ann, DigestAnnotation)
	if len(ann) == 0 {
		delete(meta, "annotations")
	} else {
		meta["annotations"] = ann
	}
	b, err := canonical.Append((*scratch)[:0], u.Object)
	if err != nil {
		return fmt.Errorf("%s: digest: %w", RefOf(u).ID(), err)
	}
	*scratch = b
	sum := sha256.Sum256(b)
	if ann == nil {
		ann = make(map[string]any, 1)
	}
	ann[DigestAnnotation] = "sha256:" + hex.EncodeToString(sum[:])
	meta["annotations"] = ann
	return nil
}

// driftListThreshold is the number of objects of one kind in one namespace
// from which Drift lists their metadata rather than reading each object (a
// list returns every object of the kind in the namespace, which for a few
// objects costs more than reading them). Apply always lists: it saves a
// read and a dry-run per object.
const driftListThreshold = 8

// liveState is what a metadata list of meshintent's objects tells of one
// object's live copy.
type liveState uint8

const (
	// liveUnknown: not listed (its group was too small, or its list failed).
	liveUnknown liveState = iota
	// liveAbsent: listed, not found; most likely the object does not exist,
	// but it may exist without meshintent's label, or have been created
	// since the list (a cache lags).
	liveAbsent
	// liveChanged: found, but not certainly unchanged.
	liveChanged
	// liveUnchanged: found and certainly unchanged (see liveStates).
	liveUnchanged
)

// markUnchanged records in each planned object what the metadata lists
// tell of its live copy, and gives action Unchanged to those certainly
// unchanged, which then skip the dry-run.
func (m *Manager) markUnchanged(ctx context.Context, ps []*planned) {
	for i, state := range m.liveStates(ctx, ps, 1) {
		ps[i].live = state
		if state == liveUnchanged {
			ps[i].action = Unchanged
		}
	}
}

// unchangedLive reports, for each of ps in order, whether its live object is
// certainly unchanged (see liveStates).
func (m *Manager) unchangedLive(ctx context.Context, ps []*planned, minGroup int) []bool {
	out := make([]bool, len(ps))
	for i, state := range m.liveStates(ctx, ps, minGroup) {
		out[i] = state == liveUnchanged
	}
	return out
}

// liveStates reports, for each of ps in order, what is known of its live
// object. It is certainly unchanged when it carries the digest of p's
// configuration and no field manager but meshintent's apply has touched it
// (status aside), so none of its fields can differ from p's.
//
// It lists metadata, with meshintent's label as selector, once per kind and
// namespace holding at least minGroup of ps. The API server sends metadata
// as protobuf, even for custom resources, which is far cheaper to decode
// than the objects as JSON. Objects in a group too small or whose list
// failed are liveUnknown: listing is only a shortcut.
func (m *Manager) liveStates(ctx context.Context, ps []*planned, minGroup int) []liveState {
	type group struct {
		gvk schema.GroupVersionKind
		ns  string
	}
	groups := map[group]map[string]int{} // name → index in ps
	var order []group
	for i, p := range ps {
		g := group{p.ref.GroupVersionKind(), p.ref.Namespace}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
			groups[g] = map[string]int{}
		}
		groups[g][p.ref.Name] = i
	}
	out := make([]liveState, len(ps))
	selector := client.MatchingLabels{manifest.ManagedByLabel: manifest.ManagedByValue}
	for _, g := range order {
		byName := groups[g]
		if len(byName) < minGroup {
			continue
		}
		states := make(map[int]liveState, len(byName))
		err := m.listMetadata(ctx, m.opts.MetadataReader, g.gvk, g.ns, selector, func(live *metav1.PartialObjectMetadata) {
			i, ok := byName[live.GetName()]
			switch {
			case !ok:
			case live.GetAnnotations()[DigestAnnotation] == ps[i].digest && m.onlyOurs(live):
				states[i] = liveUnchanged
			default:
				states[i] = liveChanged
			}
		})
		notFound := liveAbsent
		if err != nil {
			// The list did not finish: what it found stands, the rest is
			// unknown.
			notFound = liveUnknown
		}
		for _, i := range byName {
			if s, ok := states[i]; ok {
				out[i] = s
			} else {
				out[i] = notFound
			}
		}
	}
	return out
}

// listPageSize bounds the objects of one list response.
const listPageSize = 500

// listMetadata calls fn with the metadata of each object of gvk in
// namespace ns (all namespaces when empty) that selector selects (all when
// nil). Without a cache (nil), it lists the API server in pages of
// listPageSize, so that memory stays bounded whatever the number of
// objects; with one it lists the cache without copying, and fn must not
// change what it is given.
func (m *Manager) listMetadata(ctx context.Context, cache client.Reader, gvk schema.GroupVersionKind, ns string, selector client.ListOption, fn func(*metav1.PartialObjectMetadata)) error {
	var opts []client.ListOption
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if selector != nil {
		opts = append(opts, selector)
	}
	if cache != nil {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := cache.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return err
		}
		for i := range list.Items {
			fn(&list.Items[i])
		}
		return nil
	}
	opts = append(opts, client.Limit(listPageSize))
	var cont string
	for {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := m.client.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return err
		}
		for i := range list.Items {
			fn(&list.Items[i])
		}
		if cont = list.GetContinue(); cont == "" {
			return nil
		}
	}
}

// onlyOurs reports whether every field manager entry of u, but those of the
// status subresource, is meshintent's own apply.
func (m *Manager) onlyOurs(u metav1.Object) bool {
	entries := u.GetManagedFields()
	if len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		if e.Subresource == "status" {
			continue
		}
		if e.Manager != m.opts.FieldManager || e.Operation != "Apply" {
			return false
		}
	}
	return true
}

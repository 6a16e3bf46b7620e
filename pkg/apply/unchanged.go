package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// DigestAnnotation holds a digest of the configuration meshintent applied to
// an object. With it, a re-apply can tell an object is unchanged from a list
// instead of a read and a dry-run per object.
const DigestAnnotation = "meshintent.io/applied-digest"

// setDigest annotates u with the digest of its content (without the
// annotation itself). encoding/json sorts map keys, so equal objects give
// equal digests.
func setDigest(u *unstructured.Unstructured) error {
	ann := u.GetAnnotations()
	delete(ann, DigestAnnotation)
	u.SetAnnotations(ann)
	b, err := json.Marshal(u.Object)
	if err != nil {
		return fmt.Errorf("%s: digest: %w", RefOf(u).ID(), err)
	}
	sum := sha256.Sum256(b)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[DigestAnnotation] = "sha256:" + hex.EncodeToString(sum[:])
	u.SetAnnotations(ann)
	return nil
}

// markUnchanged finds the planned objects that are certainly unchanged: the
// live object carries the digest of the same configuration, and no field
// manager but ours has touched it (status aside), so none of our fields can
// have drifted. They get action Unchanged and skip the dry-run. It lists
// each kind per namespace once, selecting meshintent's objects by label.
func (m *Manager) markUnchanged(ctx context.Context, ps []*planned) error {
	type group struct {
		gvk schema.GroupVersionKind
		ns  string
	}
	groups := map[group][]*planned{}
	var order []group
	for _, p := range ps {
		g := group{p.ref.GroupVersionKind(), p.ref.Namespace}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], p)
	}
	for _, g := range order {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		opts := []client.ListOption{client.MatchingLabels{manifest.ManagedByLabel: manifest.ManagedByValue}}
		if g.ns != "" {
			opts = append(opts, client.InNamespace(g.ns))
		}
		if err := m.client.List(ctx, list, opts...); err != nil {
			// Listing is only a shortcut: the dry-run reads each object.
			continue
		}
		live := make(map[string]*unstructured.Unstructured, len(list.Items))
		for i := range list.Items {
			live[list.Items[i].GetName()] = &list.Items[i]
		}
		for _, p := range groups[g] {
			l, ok := live[p.ref.Name]
			if ok && l.GetAnnotations()[DigestAnnotation] == p.obj.GetAnnotations()[DigestAnnotation] && m.onlyOurs(l) {
				p.action = Unchanged
			}
		}
	}
	return nil
}

// onlyOurs reports whether every field manager entry of u, but those of the
// status subresource, is meshintent's own apply.
func (m *Manager) onlyOurs(u *unstructured.Unstructured) bool {
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

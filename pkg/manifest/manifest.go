// Package manifest holds the rendered objects that flow from render through
// validate to apply and plan, each with the place in Git it came from.
package manifest

import (
	"bytes"
	"fmt"
	"maps"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Labels and annotations every generated object carries.
const (
	// ManagedByLabel is app.kubernetes.io/managed-by; its value is ManagedByValue.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "meshintent"
	// IntentAnnotation names the intent an object was rendered from, as
	// "ServiceIntent/<namespace>/<name>" or "NamespaceIntent/<name>".
	IntentAnnotation = "meshintent.io/intent"
	// SourceAnnotation is the repo-relative file the object or its intent came from.
	SourceAnnotation = "meshintent.io/source"
)

// Object is one rendered Kubernetes object and its provenance.
type Object struct {
	*unstructured.Unstructured
	// Source is the repo-relative path of the file that declared the object or its intent.
	Source string
	// Intent is "ServiceIntent/<ns>/<name>" or "NamespaceIntent/<name>" for generated
	// objects and empty for Istio objects passed through from the repository.
	Intent string

	// Digest and Load, when both are set, make the object lazy: Digest is
	// what apply.Digest gave for the full object, Unstructured holds only
	// its apiVersion, kind, name and namespace, and Load returns the full
	// object. A long-running caller keeping large sets encoded uses them so
	// that apply needs the full objects only of those whose live copy may
	// differ. Namespaces are never lazy.
	Digest string
	Load   func() (*unstructured.Unstructured, error)
}

// Lazy reports whether o is a lazy object (see Digest and Load).
func (o Object) Lazy() bool { return o.Digest != "" && o.Load != nil }

// ID names an object as Kind/namespace/name, or Kind/name when cluster-scoped.
func (o Object) ID() string {
	return ObjectID(o.GetKind(), o.GetNamespace(), o.GetName())
}

// MetadataCopy returns a copy of u whose top level and metadata are its
// own, for changing labels, annotations or other metadata, while everything
// below the top level but metadata (the spec) is shared with u. It is for
// large sets kept in memory, where deep copies of every spec would double
// the cost; the spec of neither object may be changed afterwards.
func MetadataCopy(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := &unstructured.Unstructured{Object: maps.Clone(u.Object)}
	if meta, ok := u.Object["metadata"].(map[string]any); ok {
		c.Object["metadata"] = maps.Clone(meta)
	}
	return c
}

// ObjectID formats Kind/namespace/name, or Kind/name when namespace is empty.
func ObjectID(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// Set is an ordered list of rendered objects.
type Set []Object

// kindOrder puts Namespaces first, as they must be applied first.
var kindOrder = map[string]int{"Namespace": 0}

func rank(kind string) int {
	if r, ok := kindOrder[kind]; ok {
		return r
	}
	return 1
}

// Sort orders the set deterministically: Namespaces first, then by
// apiVersion group, kind, namespace and name.
func (s Set) Sort() {
	sort.SliceStable(s, func(i, j int) bool { return Less(s[i], s[j]) })
}

// Less is the order Sort uses.
func Less(a, b Object) bool {
	if ra, rb := rank(a.GetKind()), rank(b.GetKind()); ra != rb {
		return ra < rb
	}
	if a.GetKind() != b.GetKind() {
		return a.GetKind() < b.GetKind()
	}
	if a.GetAPIVersion() != b.GetAPIVersion() {
		return a.GetAPIVersion() < b.GetAPIVersion()
	}
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}

// Index maps each object's ID to it.
func (s Set) Index() map[string]Object {
	m := make(map[string]Object, len(s))
	for _, o := range s {
		m[o.ID()] = o
	}
	return m
}

// YAML writes the set as a multi-document YAML stream, in the set's order.
// Map keys are sorted, so equal sets give equal bytes.
func (s Set) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range s {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: encoding YAML: %w", o.ID(), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

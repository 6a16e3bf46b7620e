// Package intent decodes mesh-intent documents (NamespaceIntent, ServiceIntent)
// strictly, so that a typo is an error naming the file, line, object and field.
package intent

import (
	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Document is one decoded intent and where it came from. Exactly one of
// NamespaceIntent and ServiceIntent is set.
type Document struct {
	// Source is the repo-relative path of the file that declared the intent.
	Source string
	// Line is the 1-based line of the document in Source, 0 when unknown.
	Line int
	// Raw is the intent as built by kustomize (after overlays), for policies.
	Raw map[string]any

	NamespaceIntent *v1alpha1.NamespaceIntent
	ServiceIntent   *v1alpha1.ServiceIntent
}

// Kind is NamespaceIntent or ServiceIntent.
func (d Document) Kind() string {
	if d.NamespaceIntent != nil {
		return v1alpha1.KindNamespaceIntent
	}
	return v1alpha1.KindServiceIntent
}

// ID names the intent as NamespaceIntent/<name> or ServiceIntent/<ns>/<name>,
// the same form as the meshintent.io/intent annotation.
func (d Document) ID() string {
	if d.NamespaceIntent != nil {
		return manifest.ObjectID(v1alpha1.KindNamespaceIntent, "", d.NamespaceIntent.Name)
	}
	return manifest.ObjectID(v1alpha1.KindServiceIntent, d.ServiceIntent.Namespace, d.ServiceIntent.Name)
}

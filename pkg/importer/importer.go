// Package importer turns the live VirtualServices and DestinationRules of a
// namespace (for example those made by Kiali's wizards) into ServiceIntents
// that render back to the same specs.
//
// It is the inverse of expand.Expand: each imported intent is decoded
// strictly, rendered and compared with the live specs the way Istio reads
// them, and a service whose intent would not render equivalent specs is
// skipped with a note instead of being imported approximately. Whatever an
// intent cannot express is reported as a Note, never dropped silently.
package importer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// Kinds of the live objects Import reads, at their preferred versions
// (networking.istio.io/v1).
var (
	VirtualServiceGVK  = meshkinds.VirtualService.GVK()
	DestinationRuleGVK = meshkinds.DestinationRule.GVK()
)

// ClusterDomain is the DNS suffix of Services that fully qualified hosts may
// use: <service>.<namespace>.svc.<ClusterDomain>.
const ClusterDomain = "cluster.local"

// Options configure Import and Convert.
type Options struct {
	// Namespace whose VirtualServices and DestinationRules are read; required.
	Namespace string
	// Service, when set, imports only that Kubernetes Service; it is an
	// error when no VirtualService or DestinationRule of the namespace is
	// about it.
	Service string
}

// Result is what an import found.
type Result struct {
	// Namespace the objects were read from.
	Namespace string
	// Services has one entry per Service that a VirtualService or
	// DestinationRule of the namespace is about, sorted by name; skipped
	// services are included with Skipped set and no Intent.
	Services []*Service
	// Notes are all the notes: those of the services, in their order, then
	// those about objects that could not be tied to a Service of the
	// namespace (whose Service is empty).
	Notes []Note
}

// Imported returns the services that were imported, in order.
func (r *Result) Imported() []*Service {
	var out []*Service
	for _, s := range r.Services {
		if !s.Skipped {
			out = append(out, s)
		}
	}
	return out
}

// Service is one Kubernetes Service and the intent imported for it.
type Service struct {
	// Name is the Kubernetes Service's name.
	Name string
	// Objects are the live objects about the Service, as Kind/namespace/name.
	Objects []string
	// Intent is the imported intent as decoded by intent.Decode; nil when skipped.
	Intent *v1alpha1.ServiceIntent
	// Document is the intent as it is written out (sorted keys when
	// marshalled); nil when skipped.
	Document map[string]any
	// Notes say what the import changed, left out or could not express.
	Notes []Note
	// Skipped is set when the Service was not imported, because its intent
	// would not render specs equivalent to the live ones; the notes with
	// Skipped set say why.
	Skipped bool
}

// Note is something an import could not carry over as it is, or changed.
type Note struct {
	// Service is the Kubernetes Service the note is about; empty when the
	// object could not be tied to a Service of the namespace.
	Service string `json:"service,omitempty"`
	// Object is the live object, as Kind/namespace/name.
	Object string `json:"object,omitempty"`
	// Field is the field of Object, e.g. spec.http[0].rewrite; empty when the
	// note is about the whole object.
	Field string `json:"field,omitempty"`
	// Message says what happened, and what to do when something is needed.
	Message string `json:"message"`
	// Skipped is set when the note made the import skip the Service.
	Skipped bool `json:"skipped,omitempty"`
}

// String formats the note as one line (a diff in the message adds lines
// after it): "reviews: VirtualService/ns/reviews spec.http[0].rewrite:
// message (skipped)".
func (n Note) String() string {
	var b strings.Builder
	if n.Service != "" {
		b.WriteString(n.Service)
		b.WriteString(": ")
	}
	if n.Object != "" {
		b.WriteString(n.Object)
		if n.Field != "" {
			b.WriteString(" ")
			b.WriteString(n.Field)
		}
		b.WriteString(": ")
	}
	first, rest, multiline := strings.Cut(strings.TrimSpace(n.Message), "\n")
	b.WriteString(first)
	if n.Skipped {
		b.WriteString(" (skipped)")
	}
	if multiline {
		b.WriteString("\n")
		b.WriteString(rest)
	}
	return b.String()
}

// Import reads the VirtualServices and DestinationRules of opts.Namespace
// through c (which should read from the API server, not a cache) and
// converts them with Convert. A missing namespace is an error; a namespace without any of these objects gives an
// empty Result. When the namespace cannot be read (no RBAC to get
// namespaces), the objects are listed anyway.
func Import(ctx context.Context, c client.Reader, opts Options) (*Result, error) {
	if opts.Namespace == "" {
		return nil, errors.New("import needs a namespace")
	}

	// Check the namespace exists, so a typo is not an empty import.
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	switch err := c.Get(ctx, client.ObjectKey{Name: opts.Namespace}, ns); {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("namespace %q not found", opts.Namespace)
	case err != nil && !apierrors.IsForbidden(err):
		return nil, fmt.Errorf("reading namespace %q: %w", opts.Namespace, err)
	}

	// List the live objects.
	var objs []*unstructured.Unstructured
	for _, gvk := range []schema.GroupVersionKind{VirtualServiceGVK, DestinationRuleGVK} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(opts.Namespace)); err != nil {
			if meta.IsNoMatchError(err) {
				return nil, fmt.Errorf("listing %ss: %w (are the Istio CRDs installed?)", gvk.Kind, err)
			}
			return nil, fmt.Errorf("listing %ss in namespace %s: %w", gvk.Kind, opts.Namespace, err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	}
	return Convert(objs, opts)
}

// Convert imports the given VirtualServices and DestinationRules of
// opts.Namespace (objects of other kinds or namespaces are ignored). Objects
// are grouped by the Service their host names, a short name or
// <service>.<namespace>.svc.cluster.local; each group becomes a Service of
// the Result. The only error is opts.Service naming a Service that no
// object is about.
func Convert(objs []*unstructured.Unstructured, opts Options) (*Result, error) {
	groups, loose := group(objs, opts.Namespace)
	res := &Result{Namespace: opts.Namespace}
	if opts.Service != "" {
		g, ok := groups[opts.Service]
		if !ok {
			return nil, fmt.Errorf("no VirtualService or DestinationRule of namespace %s is about service %q", opts.Namespace, opts.Service)
		}
		groups, loose = map[string]*serviceGroup{opts.Service: g}, nil
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := convertService(groups[name], opts.Namespace)
		res.Services = append(res.Services, s)
		res.Notes = append(res.Notes, s.Notes...)
	}
	res.Notes = append(res.Notes, loose...)
	return res, nil
}

package apply

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// Defaults used by DefaultOptions and NewManager for unset fields.
const (
	// DefaultFieldManager is the server-side apply field manager meshintent writes as.
	DefaultFieldManager = "meshintent"
	// DefaultInventoryNamespace holds the inventory ConfigMaps.
	DefaultInventoryNamespace = "meshintent-system"
	// DefaultConcurrency bounds the parallel dry-runs, applies and reads.
	DefaultConcurrency = 16
)

// Options configure a Manager.
type Options struct {
	// FieldManager is the server-side apply field manager name every write
	// uses; empty means DefaultFieldManager.
	FieldManager string
	// InventoryNamespace is the namespace of the inventory ConfigMaps; it is
	// created when missing. Empty means DefaultInventoryNamespace.
	InventoryNamespace string
	// Concurrency bounds how many requests run in parallel for dry-runs,
	// applies, deletes and drift reads; below 1 means DefaultConcurrency.
	Concurrency int
	// MetadataReader, when set, answers the label-selected metadata lists
	// (metav1.PartialObjectMetadataList) by which Apply and Drift pass over
	// objects that are certainly unchanged: typically a controller's
	// informer cache of meshintent's objects. It may lag the API server;
	// the watch that feeds it reports an object changed meanwhile. Nil
	// means the API server, in pages.
	MetadataReader client.Reader
}

// DefaultOptions returns the options NewManager uses for unset fields.
func DefaultOptions() Options {
	return Options{
		FieldManager:       DefaultFieldManager,
		InventoryNamespace: DefaultInventoryNamespace,
		Concurrency:        DefaultConcurrency,
	}
}

// Manager applies, prunes and diffs manifest sets against one cluster.
// It is safe for concurrent use.
type Manager struct {
	client client.Client
	opts   Options

	// inventories are the inventories last read or written, by name, so
	// that one whose ConfigMap has not changed is not decoded again.
	invMu       sync.Mutex
	inventories map[string]storedInventory
}

// storedInventory is an inventory as stored in its ConfigMap.
type storedInventory struct {
	resourceVersion string
	entries         string // as encoded in the ConfigMap
	parsed          []Entry
}

// NewManager returns a Manager writing through c, which must read from the
// API server rather than a cache. Zero fields of opts take their defaults.
func NewManager(c client.Client, opts Options) *Manager {
	d := DefaultOptions()
	if opts.FieldManager == "" {
		opts.FieldManager = d.FieldManager
	}
	if opts.InventoryNamespace == "" {
		opts.InventoryNamespace = d.InventoryNamespace
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = d.Concurrency
	}
	return &Manager{client: c, opts: opts, inventories: map[string]storedInventory{}}
}

// Client returns the client the Manager writes through.
func (m *Manager) Client() client.Client { return m.client }

// Options returns the Manager's options with defaults filled in.
func (m *Manager) Options() Options { return m.opts }

// ObjectRef identifies an object by API group, version, kind, namespace and
// name. Version is informational: two refs differing only in version name the
// same object.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf returns the ObjectRef of u.
func RefOf(u *unstructured.Unstructured) ObjectRef {
	gvk := u.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// ID formats the ref as Kind/namespace/name (Kind/name when cluster-scoped),
// like manifest.ObjectID.
func (r ObjectRef) ID() string { return manifest.ObjectID(r.Kind, r.Namespace, r.Name) }

// GroupVersionKind returns the ref's GVK.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// IsNamespace reports whether the ref names a core v1 Namespace.
func (r ObjectRef) IsNamespace() bool { return r.Group == "" && r.Kind == "Namespace" }

// key identifies the object regardless of API version.
func (r ObjectRef) key() string { return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name }

// empty returns an object of r's GVK with r's namespace and name, for reads.
func (r ObjectRef) empty() *unstructured.Unstructured {
	return identified(r, &unstructured.Unstructured{})
}

// metadata returns an empty metadata-only object of r's GVK, namespace and
// name, to take a response of which only the metadata matters.
func (r ObjectRef) metadata() *metav1.PartialObjectMetadata {
	return identified(r, &metav1.PartialObjectMetadata{})
}

// identified sets o's GVK, namespace and name to r's and returns o.
func identified[T interface {
	SetGroupVersionKind(schema.GroupVersionKind)
	SetNamespace(string)
	SetName(string)
}](r ObjectRef, o T) T {
	o.SetGroupVersionKind(r.GroupVersionKind())
	o.SetNamespace(r.Namespace)
	o.SetName(r.Name)
	return o
}

// isNamespace reports whether o is a core v1 Namespace.
func isNamespace(o *unstructured.Unstructured) bool {
	gvk := o.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Namespace"
}

// each runs fn for 0..n-1 with at most Concurrency calls at a time and
// waits for all of them.
func (m *Manager) each(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	sem := make(chan struct{}, m.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx, i)
		}()
	}
	wg.Wait()
}

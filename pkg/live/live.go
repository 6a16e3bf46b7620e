// Package live reads from a cluster what the live policy checks need about
// a rendered set, and nothing else: the Services of the namespaces its
// destinations name, whether its DestinationRule subsets select a Pod, the
// Gateways its VirtualServices bind to, and the VirtualServices and
// ServiceEntries outside the set that touch its hosts. The result, a View,
// goes to the policies as data.meshintent.cluster (policies/live.rego); without
// a cluster there is no View and the live checks stay silent.
//
// A Reader caches what it read, for one run (TTL 0) or for a while (the
// controller's), so that a run asks the API server once per namespace,
// selector and kind. A Read for a new version of what a caller judges (a
// new revision of an IntentSync) reuses nothing read before it: the cache
// only spares re-reads of the same version, never hides a change made
// between two versions.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshhost"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// Check is one live check, as the policies in policies/live.rego make it.
type Check struct {
	// Setting is its key in data.meshintent.config.severity, e.g.
	// meshintent.live.hosts (the results' policy is meshintent.live).
	Setting string
	// Code is the istioctl analyze message code, e.g. IST0101.
	Code string
	// Severity is the default: deny or warn.
	Severity string
	// Summary says what the check finds.
	Summary string
}

// Checks are the live checks, in the order the README lists them. Offline,
// the CLI says how many it skipped.
var Checks = []Check{
	{"meshintent.live.hosts", "IST0101", "deny", "a route or mirror destination names a Service (<svc>.<ns>.svc.<domain>) that neither the cluster nor a ServiceEntry (in the set or live) has"},
	{"meshintent.live.ports", "IST0101", "deny", "a destination's port is not a port of its Service"},
	{"meshintent.live.ports", "IST0112", "deny", "a destination without a port names a Service with several ports"},
	{"meshintent.live.subsets", "IST0173", "warn", "a DestinationRule subset (its labels and the Service's selector) selects no Pod"},
	{"meshintent.live.gateways", "IST0101", "deny", "a VirtualService binds to a Gateway neither in the set nor in the cluster"},
	{"meshintent.live.meshhosts", "IST0109", "deny", "a VirtualService outside the set already claims a host for the mesh gateway, in an overlapping exportTo scope"},
}

// Options configure a Reader.
type Options struct {
	// Domain is the cluster's DNS domain; meshhost.DefaultDomain when empty.
	// It must be the policies' data.meshintent.config.clusterDomain.
	Domain string
	// TTL is how long what was read is reused; 0 keeps it for the Reader's
	// life (one CLI run).
	TTL time.Duration
}

// ReadOptions configure one Read.
type ReadOptions struct {
	// Owned, when set, says whether a live object with these labels belongs
	// to the caller (the IntentSync that is about to apply the set): such a
	// VirtualService is the set's own previous version, about to be updated
	// or pruned, not a foreign claim on its hosts. Objects whose ID is in
	// the set are never foreign.
	Owned func(labels map[string]string) bool
	// Scope names the caller whose sets are judged, e.g. an IntentSync's
	// namespace/name, and Version what of it this set is, e.g. its revision
	// and generation. The first successful Read of a Version of a Scope
	// (or a Read after another Version) is fresh: it reuses nothing cached
	// before it started, so an object created since the last Version's
	// Read is seen. Later Reads of the same Version reuse what was read, up
	// to the TTL, as a Read without a Scope does. Within one Read, each
	// namespace, selector and kind is read once either way.
	Scope, Version string
}

// Reader reads Views through a client. It is safe for concurrent use.
type Reader struct {
	c    client.Reader
	opts Options
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]cached
	// seq numbers the reads: each cached value carries the number taken
	// when its read began, so that a fresh Read can tell what was read
	// after it started.
	seq uint64
	// versions are the Version of each Scope's last successful Read.
	versions map[string]string
}

type cached struct {
	value any
	at    time.Time
	seq   uint64
}

// NewReader returns a Reader reading through c, which must handle
// unstructured and metadata-only objects (any controller-runtime client
// does; a cache-backed one would start informers for Pods, so give it one
// that reads the API server).
func NewReader(c client.Reader, opts Options) *Reader {
	if opts.Domain == "" {
		opts.Domain = meshhost.DefaultDomain
	}
	return &Reader{c: c, opts: opts, now: time.Now, cache: map[string]cached{}, versions: map[string]string{}}
}

// View is what the live checks know of the cluster, as data.meshintent.cluster.
type View struct {
	// Namespaces are those whose Services were read: a missing Service is
	// only reported in them.
	Namespaces map[string]bool `json:"namespaces"`
	// Services are the Services of Namespaces, live or in the set, by
	// "namespace/name".
	Services map[string]Service `json:"services"`
	// ServiceEntryHosts are the hosts of every ServiceEntry, live or in the
	// set (in lower case, patterns as written).
	ServiceEntryHosts []string `json:"serviceEntryHosts"`
	// Gateways are the Gateways the set's VirtualServices bind to, by
	// "namespace/name": whether one exists, in the set or live (an Istio
	// Gateway or a Gateway API Gateway).
	Gateways map[string]bool `json:"gateways"`
	// Subsets are, per DestinationRule ID and subset name, whether the
	// subset selects at least one Pod; only subsets whose host is a Service
	// of Services are listed.
	Subsets map[string]map[string]bool `json:"subsets"`
	// VirtualServices are, per host FQDN a VirtualService of the set claims
	// for the mesh gateway, the live VirtualServices outside the set bound
	// to the mesh gateway that claim it too.
	VirtualServices map[string][]ForeignVirtualService `json:"virtualServices"`
}

// Service is what the checks need of a Service.
type Service struct {
	Ports []Port `json:"ports"`
}

// Port is a Service port.
type Port struct {
	Name     string `json:"name,omitempty"`
	Number   int64  `json:"number"`
	Protocol string `json:"protocol,omitempty"`
}

// ForeignVirtualService is a live VirtualService outside the set.
type ForeignVirtualService struct {
	// ID is VirtualService/<namespace>/<name>.
	ID string `json:"id"`
	// Name is <namespace>/<name>, as istioctl names it.
	Name string `json:"name"`
	// Scopes are the namespaces it is exported to, {"*"} for all (see
	// meshintent.lib.hosts.export_scopes).
	Scopes []string `json:"scopes"`
}

// Data returns v as policy data rooted at data: {"meshintent": {"cluster": v}}.
func (v *View) Data() (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the live view: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding the live view: %w", err)
	}
	return map[string]any{"meshintent": map[string]any{"cluster": m}}, nil
}

// Kinds the Reader reads besides core/v1.
var (
	gatewayGVK        = meshkinds.Gateway.GVK()
	k8sGatewayGVK     = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}
	virtualServiceGVK = listOf(meshkinds.VirtualService)
	serviceEntryGVK   = listOf(meshkinds.ServiceEntry)
)

// listOf returns the list kind of k at its preferred version.
func listOf(k meshkinds.Kind) schema.GroupVersionKind {
	gvk := k.GVK()
	gvk.Kind += "List"
	return gvk
}

// Read returns the View of set: what the live checks need to judge it.
// Kinds whose CRDs the cluster lacks count as having no objects. An error
// reading the API server (forbidden, unreachable) is returned, wrapped with
// what was being read; callers decide whether the checks then fail or are
// skipped. See ReadOptions.Scope for when a Read reuses earlier reads.
func (r *Reader) Read(ctx context.Context, set manifest.Set, opts ReadOptions) (*View, error) {
	r.expire()
	since := r.since(opts)
	v, err := r.read(ctx, set, opts, since)
	if err == nil && opts.Scope != "" {
		r.mu.Lock()
		r.versions[opts.Scope] = opts.Version
		r.mu.Unlock()
	}
	return v, err
}

// since is the sequence number after which cached values are used by a
// Read with opts: 0 (any) unless the Read is fresh, then the number of the
// last read begun before it.
func (r *Reader) since(opts ReadOptions) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if opts.Scope == "" {
		return 0
	}
	if v, ok := r.versions[opts.Scope]; ok && v == opts.Version {
		return 0
	}
	return r.seq
}

// read is Read using only cached values read after since.
func (r *Reader) read(ctx context.Context, set manifest.Set, opts ReadOptions, since uint64) (*View, error) {
	refs := r.references(set)
	v := &View{
		Namespaces:      map[string]bool{},
		Services:        map[string]Service{},
		Gateways:        map[string]bool{},
		Subsets:         map[string]map[string]bool{},
		VirtualServices: map[string][]ForeignVirtualService{},
	}

	// The Services of the namespaces the destinations and DestinationRules name.
	selectors := map[string]map[string]string{}
	for _, ns := range slices.Sorted(maps.Keys(refs.namespaces)) {
		svcs, err := r.services(ctx, since, ns)
		if err != nil {
			return nil, err
		}
		v.Namespaces[ns] = true
		for _, s := range svcs {
			key := ns + "/" + s.Name
			v.Services[key] = serviceOf(s)
			selectors[key] = s.Spec.Selector
		}
	}
	maps.Copy(v.Services, refs.services)

	// ServiceEntries, only when some destination has no Service.
	v.ServiceEntryHosts = slices.Sorted(maps.Keys(refs.serviceEntryHosts))
	if refs.missingService(v.Services) {
		hosts, err := r.serviceEntryHosts(ctx, since)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if !refs.serviceEntryHosts[h] {
				v.ServiceEntryHosts = append(v.ServiceEntryHosts, h)
			}
		}
		sort.Strings(v.ServiceEntryHosts)
	}

	// Gateways: those of the set exist; the others are looked up.
	for _, g := range slices.Sorted(maps.Keys(refs.gateways)) {
		if refs.setGateways[g] {
			v.Gateways[g] = true
			continue
		}
		ns, name, _ := strings.Cut(g, "/")
		ok, err := r.gatewayExists(ctx, since, ns, name)
		if err != nil {
			return nil, err
		}
		v.Gateways[g] = ok
	}

	// Subsets: does the Service's selector with the subset's labels select a Pod?
	for _, s := range refs.subsets {
		svcSel, ok := selectors[s.service]
		if !ok {
			if _, inSet := refs.services[s.service]; !inSet {
				continue // no live Service: the host checks speak
			}
		}
		sel := labels.Merge(svcSel, s.labels)
		ns, _, _ := strings.Cut(s.service, "/")
		selects, err := r.selectsPod(ctx, since, ns, sel)
		if err != nil {
			return nil, err
		}
		if v.Subsets[s.rule] == nil {
			v.Subsets[s.rule] = map[string]bool{}
		}
		v.Subsets[s.rule][s.name] = selects
	}

	// VirtualServices outside the set that claim the set's mesh hosts.
	if len(refs.meshHosts) > 0 {
		vss, err := r.virtualServices(ctx, since)
		if err != nil {
			return nil, err
		}
		for _, vs := range vss {
			id := manifest.ObjectID("VirtualService", vs.GetNamespace(), vs.GetName())
			if refs.ids[id] || (opts.Owned != nil && opts.Owned(vs.GetLabels())) {
				continue
			}
			spec, _ := vs.Object["spec"].(map[string]any)
			if !boundToMesh(spec) {
				continue
			}
			f := ForeignVirtualService{ID: id, Name: vs.GetNamespace() + "/" + vs.GetName(), Scopes: exportScopes(strings_(spec["exportTo"]), vs.GetNamespace())}
			for _, h := range strings_(spec["hosts"]) {
				fqdn := meshhost.Resolve(h, vs.GetNamespace(), r.opts.Domain)
				if refs.meshHosts[fqdn] && !slices.ContainsFunc(v.VirtualServices[fqdn], func(o ForeignVirtualService) bool { return o.ID == id }) {
					v.VirtualServices[fqdn] = append(v.VirtualServices[fqdn], f)
				}
			}
		}
	}
	return v, nil
}

func serviceOf(s corev1.Service) Service {
	out := Service{Ports: []Port{}}
	for _, p := range s.Spec.Ports {
		out.Ports = append(out.Ports, Port{Name: p.Name, Number: int64(p.Port), Protocol: string(p.Protocol)})
	}
	return out
}

// services lists the Services of a namespace.
func (r *Reader) services(ctx context.Context, since uint64, ns string) ([]corev1.Service, error) {
	return load(r, since, "services/"+ns, func() ([]corev1.Service, error) {
		var l corev1.ServiceList
		if err := r.c.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing the Services of namespace %s: %w", ns, err)
		}
		return l.Items, nil
	})
}

// selectsPod says whether sel selects a Pod of ns, reading at most one
// Pod's metadata.
func (r *Reader) selectsPod(ctx context.Context, since uint64, ns string, sel labels.Set) (bool, error) {
	s := labels.SelectorFromSet(sel)
	return load(r, since, "pods/"+ns+"/"+s.String(), func() (bool, error) {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
		if err := r.c.List(ctx, l, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: s}, client.Limit(1)); err != nil {
			return false, fmt.Errorf("listing the Pods of namespace %s selected by %q: %w", ns, s.String(), err)
		}
		return len(l.Items) > 0, nil
	})
}

// gatewayExists says whether an Istio Gateway, or a Gateway API Gateway,
// ns/name exists, reading its metadata only.
func (r *Reader) gatewayExists(ctx context.Context, since uint64, ns, name string) (bool, error) {
	return load(r, since, "gateway/"+ns+"/"+name, func() (bool, error) {
		for _, gvk := range []schema.GroupVersionKind{gatewayGVK, k8sGatewayGVK} {
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(gvk)
			err := r.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, m)
			switch {
			case err == nil:
				return true, nil
			case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			default:
				return false, fmt.Errorf("reading %s %s/%s: %w", gvk.GroupKind(), ns, name, err)
			}
		}
		return false, nil
	})
}

// virtualServices lists every VirtualService of the cluster.
func (r *Reader) virtualServices(ctx context.Context, since uint64) ([]unstructured.Unstructured, error) {
	return load(r, since, "virtualservices", func() ([]unstructured.Unstructured, error) {
		return r.list(ctx, virtualServiceGVK)
	})
}

// serviceEntryHosts lists the hosts of every ServiceEntry of the cluster.
func (r *Reader) serviceEntryHosts(ctx context.Context, since uint64) ([]string, error) {
	return load(r, since, "serviceentries", func() ([]string, error) {
		items, err := r.list(ctx, serviceEntryGVK)
		if err != nil {
			return nil, err
		}
		var hosts []string
		for _, se := range items {
			spec, _ := se.Object["spec"].(map[string]any)
			for _, h := range strings_(spec["hosts"]) {
				hosts = append(hosts, strings.ToLower(h))
			}
		}
		return hosts, nil
	})
}

// list lists a kind in all namespaces; none when its CRD is not installed.
func (r *Reader) list(ctx context.Context, gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk)
	if err := r.c.List(ctx, l); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %ss: %w", strings.TrimSuffix(gvk.Kind, "List"), err)
	}
	return l.Items, nil
}

// expire drops what is older than the TTL, so that a long-lived Reader
// holds only what recent runs read.
func (r *Reader) expire() {
	if r.opts.TTL == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	maps.DeleteFunc(r.cache, func(_ string, c cached) bool { return r.now().Sub(c.at) >= r.opts.TTL })
}

// load returns the cached value of key when it is younger than the TTL and
// its read began after read number since; otherwise it reads it with read
// and caches it. Errors are not cached.
func load[T any](r *Reader, since uint64, key string, read func() (T, error)) (T, error) {
	r.mu.Lock()
	c, ok := r.cache[key]
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	if ok && c.seq > since && (r.opts.TTL == 0 || r.now().Sub(c.at) < r.opts.TTL) {
		return c.value.(T), nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	r.mu.Lock()
	// A slower read begun earlier does not replace a newer one.
	if old, ok := r.cache[key]; !ok || old.seq < seq {
		r.cache[key] = cached{value: v, at: r.now(), seq: seq}
	}
	r.mu.Unlock()
	return v, nil
}

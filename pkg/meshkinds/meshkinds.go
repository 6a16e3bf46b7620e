// Package meshkinds is the one table of the Istio kinds meshintent manages:
// for each, its API group, the versions a repository may write it in, the
// one it is read in, whether a repository may declare it and whether drift
// looks for copies of it that Git does not manage. Render's allow-list,
// apply's drift search, the live checks, the importer and the controller's
// watches read it; the controller's RBAC markers are checked against it by a
// test (internal/controller/kinds_table_test.go).
package meshkinds

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is one Istio kind of the table.
type Kind struct {
	// Group is the API group, e.g. networking.istio.io.
	Group string
	// Kind is the kind, e.g. VirtualService.
	Kind string
	// Resource is the plural resource name RBAC rules and the API's paths
	// use, e.g. virtualservices.
	Resource string
	// Versions are the versions a repository may write the kind in, the
	// preferred one (the version meshintent reads and lists it in) first.
	Versions []string
	// Declare is true when a repository may declare the kind: it is passed
	// through render, applied, pruned, watched for drift, and the
	// controller may get, list, watch, create, patch and delete it.
	Declare bool
	// Unmanaged is true when drift lists the kind in the namespaces a set
	// touches to report the objects Git does not manage (a Kiali wizard's
	// VirtualService, an EnvoyFilter made by hand).
	Unmanaged bool
}

// Preferred returns the version the kind is read and listed in.
func (k Kind) Preferred() string { return k.Versions[0] }

// GVK returns the kind at its preferred version.
func (k Kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Preferred(), Kind: k.Kind}
}

// GroupKind returns the kind without a version.
func (k Kind) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: k.Group, Kind: k.Kind}
}

// Verbs are the verbs the controller needs on the kind's resource, sorted:
// get, list, watch, create, patch and delete for a kind a repository may
// declare (create because a server-side apply may create the object, delete
// to prune it); list alone for a kind drift only looks for.
func (k Kind) Verbs() []string {
	switch {
	case k.Declare:
		return []string{"create", "delete", "get", "list", "patch", "watch"}
	case k.Unmanaged:
		return []string{"list"}
	}
	return nil
}

// Istio's API groups.
const (
	Networking = "networking.istio.io"
	Security   = "security.istio.io"
	Telemetry  = "telemetry.istio.io"
)

var (
	networkingVersions = []string{"v1", "v1beta1", "v1alpha3"}
	securityVersions   = []string{"v1", "v1beta1"}
	telemetryVersions  = []string{"v1", "v1alpha1"}
)

// The table's kinds that other packages name.
var (
	VirtualService  = Kind{Group: Networking, Kind: "VirtualService", Resource: "virtualservices", Versions: networkingVersions, Declare: true, Unmanaged: true}
	DestinationRule = Kind{Group: Networking, Kind: "DestinationRule", Resource: "destinationrules", Versions: networkingVersions, Declare: true, Unmanaged: true}
	Gateway         = Kind{Group: Networking, Kind: "Gateway", Resource: "gateways", Versions: networkingVersions, Declare: true, Unmanaged: true}
	ServiceEntry    = Kind{Group: Networking, Kind: "ServiceEntry", Resource: "serviceentries", Versions: networkingVersions, Declare: true, Unmanaged: true}
	TelemetryKind   = Kind{Group: Telemetry, Kind: "Telemetry", Resource: "telemetries", Versions: telemetryVersions, Declare: true, Unmanaged: true}
)

// table is every kind, in the order drift lists them.
//
// Left out of Declare on purpose: EnvoyFilter (it patches Envoy's generated
// configuration directly, skips Istio's validation, breaks across Istio
// upgrades and can take down every proxy of the mesh, which is not an
// intent that policies can reason about; drift still reports one), and
// ProxyConfig and extensions.istio.io's WasmPlugin (code, not
// configuration), which are not in the table at all. WorkloadEntry and
// WorkloadGroup are declared by repositories but drift does not look for
// unmanaged ones: the mesh's own registration makes them.
var table = []Kind{
	VirtualService,
	DestinationRule,
	Gateway,
	ServiceEntry,
	{Group: Networking, Kind: "Sidecar", Resource: "sidecars", Versions: networkingVersions, Declare: true, Unmanaged: true},
	{Group: Networking, Kind: "WorkloadEntry", Resource: "workloadentries", Versions: networkingVersions, Declare: true},
	{Group: Networking, Kind: "WorkloadGroup", Resource: "workloadgroups", Versions: networkingVersions, Declare: true},
	{Group: Networking, Kind: "EnvoyFilter", Resource: "envoyfilters", Versions: []string{"v1alpha3"}, Unmanaged: true},
	{Group: Security, Kind: "AuthorizationPolicy", Resource: "authorizationpolicies", Versions: securityVersions, Declare: true, Unmanaged: true},
	{Group: Security, Kind: "PeerAuthentication", Resource: "peerauthentications", Versions: securityVersions, Declare: true, Unmanaged: true},
	{Group: Security, Kind: "RequestAuthentication", Resource: "requestauthentications", Versions: securityVersions, Declare: true, Unmanaged: true},
	TelemetryKind,
}

// All returns every kind of the table, a copy the caller may change.
func All() []Kind {
	out := slices.Clone(table)
	for i := range out {
		out[i].Versions = slices.Clone(out[i].Versions)
	}
	return out
}

// Lookup returns the table's kind of group and kind.
func Lookup(group, kind string) (Kind, bool) {
	for _, k := range table {
		if k.Group == group && k.Kind == kind {
			return k, true
		}
	}
	return Kind{}, false
}

// Declarable reports whether a repository may declare an object of this
// apiVersion (group/version) and kind: a kind of the table with Declare,
// in one of its Versions.
func Declarable(apiVersion, kind string) bool {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return false
	}
	k, ok := Lookup(group, kind)
	return ok && k.Declare && slices.Contains(k.Versions, version)
}

// Declared returns the kinds a repository may declare, in table order.
func Declared() []Kind {
	return filter(func(k Kind) bool { return k.Declare })
}

// UnmanagedGVKs returns the kinds drift lists for objects Git does not
// manage, at their preferred versions, in table order: a new slice.
func UnmanagedGVKs() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, k := range filter(func(k Kind) bool { return k.Unmanaged }) {
		out = append(out, k.GVK())
	}
	return out
}

func filter(keep func(Kind) bool) []Kind {
	var out []Kind
	for _, k := range All() {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

package render

import (
	"slices"
	"sort"
	"strings"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// allowedGroups are the Istio API groups a repository may hold besides
// intents, with their served versions and the kinds allowed in each: mesh
// configuration only.
//
// Left out on purpose: networking.istio.io EnvoyFilter (it patches Envoy's
// generated configuration directly, skips Istio's validation, breaks across
// Istio upgrades and can take down every proxy of the mesh, which is not an
// intent that policies can reason about) and ProxyConfig, and the
// extensions.istio.io WasmPlugin (code, not configuration).
var allowedGroups = map[string]struct {
	versions []string
	kinds    []string
}{
	"networking.istio.io": {
		versions: []string{"v1", "v1beta1", "v1alpha3"},
		kinds:    []string{"VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry", "WorkloadGroup"},
	},
	"security.istio.io": {
		versions: []string{"v1", "v1beta1"},
		kinds:    []string{"PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"},
	},
	"telemetry.istio.io": {
		versions: []string{"v1", "v1alpha1"},
		kinds:    []string{"Telemetry"},
	},
}

// Allowed reports whether a repository may declare an object of this
// apiVersion and kind, to be passed through: one of the Istio kinds of
// AllowedKinds in a version Istio serves. Intents (meshintent.io/v1alpha1)
// are not passed through and are not Allowed.
func Allowed(apiVersion, kind string) bool {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return false
	}
	g, ok := allowedGroups[group]
	return ok && slices.Contains(g.versions, version) && slices.Contains(g.kinds, kind)
}

// AllowedKinds lists what a repository may hold, as group/Kind: the intent
// kinds and the Istio kinds passed through, sorted.
func AllowedKinds() []string {
	out := []string{v1alpha1.Group + "/" + v1alpha1.KindNamespaceIntent, v1alpha1.Group + "/" + v1alpha1.KindServiceIntent}
	for group, g := range allowedGroups {
		for _, k := range g.kinds {
			out = append(out, group+"/"+k)
		}
	}
	sort.Strings(out)
	return out
}

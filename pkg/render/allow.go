package render

import (
	"sort"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// Allowed reports whether a repository may declare an object of this
// apiVersion and kind, to be passed through: a kind of the table of managed
// kinds that a repository may declare (meshkinds.Declarable), in a version
// Istio serves. Mesh configuration only: EnvoyFilter, ProxyConfig and
// WasmPlugin are not Allowed (the table says why). Intents
// (meshintent.io/v1alpha1) are not passed through and are not Allowed.
func Allowed(apiVersion, kind string) bool {
	return meshkinds.Declarable(apiVersion, kind)
}

// AllowedKinds lists what a repository may hold, as group/Kind: the intent
// kinds and the Istio kinds passed through, sorted.
func AllowedKinds() []string {
	out := []string{v1alpha1.Group + "/" + v1alpha1.KindNamespaceIntent, v1alpha1.Group + "/" + v1alpha1.KindServiceIntent}
	for _, k := range meshkinds.Declared() {
		out = append(out, k.Group+"/"+k.Kind)
	}
	sort.Strings(out)
	return out
}

package expand

import (
	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// expandNamespace builds a NamespaceIntent's Namespace, with only the
// injection labels of its dataplane, and its Telemetry when it has tracing.
func expandNamespace(doc intent.Document) manifest.Set {
	ni := doc.NamespaceIntent
	labels := map[string]any{}
	switch ni.Spec.Dataplane {
	case v1alpha1.DataplaneSidecar:
		if ni.Spec.Revision != "" {
			labels["istio.io/rev"] = ni.Spec.Revision
		} else {
			labels["istio-injection"] = "enabled"
		}
	case v1alpha1.DataplaneAmbient:
		labels["istio.io/dataplane-mode"] = "ambient"
	case v1alpha1.DataplaneNone:
		labels["istio-injection"] = "disabled"
	}
	out := manifest.Set{newObject(doc, "v1", "Namespace", "", ni.Name, labels, nil)}
	if t, ok := namespaceTelemetry(doc); ok {
		out = append(out, t)
	}
	return out
}

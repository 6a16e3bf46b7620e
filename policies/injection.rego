# Package meshintent.injection: a Namespace selects one way into the mesh.
# istio-injection and istio.io/rev together make injection depend on the
# webhook's precedence, and sidecar injection together with ambient mode puts
# workloads in both dataplanes.
package meshintent.injection

deny contains {"msg": msg, "field": "metadata.labels"} if {
	input.kind == "Namespace"
	labels := object.get(input, ["metadata", "labels"], {})
	labels["istio-injection"]
	labels["istio.io/rev"]
	msg := sprintf("namespace has both istio-injection=%s and istio.io/rev=%s: keep one", [labels["istio-injection"], labels["istio.io/rev"]])
}

deny contains {"msg": msg, "field": "metadata.labels"} if {
	input.kind == "Namespace"
	labels := object.get(input, ["metadata", "labels"], {})
	labels["istio.io/dataplane-mode"] == "ambient"
	some label in sidecar_labels(labels)
	msg := sprintf("namespace has both %s and istio.io/dataplane-mode=ambient: choose sidecar or ambient", [label])
}

sidecar_labels(labels) := {sprintf("%s=%s", [key, labels[key]]) |
	some key in ["istio-injection", "istio.io/rev"]
	sidecar(key, labels[key])
}

sidecar("istio-injection", "enabled")

sidecar("istio.io/rev", _)

package expand

import (
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// namespaceTelemetry is the Telemetry named meshintent-tracing in the
// namespace of a NamespaceIntent with tracing; ok is false without tracing.
func namespaceTelemetry(doc intent.Document) (obj manifest.Object, ok bool) {
	ni := doc.NamespaceIntent
	t := ni.Spec.Tracing
	if t == nil {
		return manifest.Object{}, false
	}
	spec := map[string]any{"tracing": tracing(t.Provider, t.SamplingPercentage)}
	return newObject(doc, telemetryV1, "Telemetry", ni.Name, NamespaceTelemetryName, nil, spec), true
}

// serviceTelemetry is the Telemetry named <name>-tracing selecting
// app=<service> of a ServiceIntent with tracing; ok is false without tracing.
func serviceTelemetry(doc intent.Document) (obj manifest.Object, ok bool) {
	si := doc.ServiceIntent
	s := &si.Spec
	host := si.ServiceName()
	t := s.Tracing
	if t == nil {
		return manifest.Object{}, false
	}
	spec := map[string]any{
		"selector": map[string]any{"matchLabels": map[string]any{"app": host}},
		"tracing":  tracing(t.Provider, t.SamplingPercentage),
	}
	return newObject(doc, telemetryV1, "Telemetry", si.Namespace, si.Name+ServiceTelemetrySuffix, nil, spec), true
}

func tracing(provider string, sampling *float64) []any {
	t := map[string]any{}
	if provider != "" {
		t["providers"] = []any{map[string]any{"name": provider}}
	}
	if sampling != nil {
		t["randomSamplingPercentage"] = *sampling
	}
	return []any{t}
}

// Package expand turns decoded intents into the Istio and Kubernetes objects
// they stand for: a NamespaceIntent into Namespace labels (and a Telemetry),
// a ServiceIntent into a DestinationRule, a VirtualService (and a Telemetry).
//
// Each output kind is built in a file of its own: namespace.go,
// destinationrule.go, virtualservice.go and telemetry.go; fields.go maps a
// field of a generated object back to the intent fields that produced it.
package expand

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

// API versions of generated objects: the preferred versions of the table
// of managed kinds.
var (
	networkingV1 = meshkinds.VirtualService.GVK().GroupVersion().String()
	telemetryV1  = meshkinds.TelemetryKind.GVK().GroupVersion().String()
)

// Names of generated objects.
const (
	// NamespaceTelemetryName is the Telemetry a NamespaceIntent with tracing renders.
	NamespaceTelemetryName = "meshintent-tracing"
	// ServiceTelemetrySuffix makes the name of a ServiceIntent's Telemetry: <intent name>-tracing.
	ServiceTelemetrySuffix = "-tracing"
	// DefaultSuspendStatus is the HTTP status of suspend.all without httpStatus.
	DefaultSuspendStatus = 503
)

// Expand renders one decoded intent into the objects it stands for, each
// labelled app.kubernetes.io/managed-by=meshintent and annotated with the
// intent's ID and source file (as are Object.Intent and Object.Source):
//
// A NamespaceIntent becomes a v1 Namespace with only the injection labels:
// istio-injection=enabled for sidecar (istio.io/rev=<revision> instead when a
// revision is set), istio.io/dataplane-mode=ambient for ambient,
// istio-injection=disabled for none; with tracing, also a Telemetry named
// meshintent-tracing in the namespace.
//
// A ServiceIntent becomes a DestinationRule (when it has versions or a
// traffic policy; host is the service's short name, one subset per version
// selecting {versionLabel: name} unless the version has labels), a
// VirtualService (hosts [service]; one HTTP route per spec.routes rule in
// order, then a catch-all from spec.split, or to the only version, or to the
// host; timeout, retries, fault and mirror on every route, a rule's own
// fault and timeout winning) and, with tracing, a Telemetry named
// <name>-tracing selecting app=<service>.
//
// Suspension: spec.suspend.versions sets those versions' weight to 0 in the
// split and in every rule, and scales the other destinations of each list up
// to 100 in proportion to their weights (by the largest-remainder method, ties
// to the earlier entry; equal shares when they all weighed 0). With no split
// and several versions, the catch-all then spreads traffic equally over the
// versions not suspended. spec.suspend.all makes every route abort 100% of
// requests with httpStatus (default 503), replacing any fault.
//
// A rule whose destinations are all suspended is left out, so that its
// requests fall through to the next rules and the split, and a mirror to a
// suspended version is dropped.
//
// Durations are written in protobuf JSON form ("5s", "0.500s"). The intent
// must have been decoded by intent.Decode, which checks what Expand relies on.
func Expand(doc intent.Document) manifest.Set {
	if doc.NamespaceIntent != nil {
		return expandNamespace(doc)
	}
	if doc.ServiceIntent != nil {
		return expandService(doc)
	}
	return nil
}

// expandService builds a ServiceIntent's objects in their order: the
// DestinationRule (when it has versions or a traffic policy), the
// VirtualService and, with tracing, the Telemetry.
func expandService(doc intent.Document) manifest.Set {
	var out manifest.Set
	if dr, ok := destinationRule(doc); ok {
		out = append(out, dr)
	}
	out = append(out, virtualService(doc))
	if t, ok := serviceTelemetry(doc); ok {
		out = append(out, t)
	}
	return out
}

func newObject(doc intent.Document, apiVersion, kind, namespace, name string, labels map[string]any, spec map[string]any) manifest.Object {
	if labels == nil {
		labels = make(map[string]any, 1)
	}
	labels[manifest.ManagedByLabel] = manifest.ManagedByValue
	id := doc.ID()
	meta := map[string]any{
		"name":   name,
		"labels": labels,
		"annotations": map[string]any{
			manifest.IntentAnnotation: id,
			manifest.SourceAnnotation: doc.Source,
		},
	}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	if spec != nil {
		obj["spec"] = spec
	}
	return manifest.Object{Unstructured: &unstructured.Unstructured{Object: obj}, Source: doc.Source, Intent: id}
}

// protoDuration formats d as protobuf's JSON form of google.protobuf.Duration,
// which Istio's CRDs take: whole seconds, or 3, 6 or 9 decimals ("5s", "0.500s").
func protoDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	secs, nanos := int64(d/time.Second), int64(d%time.Second)
	switch {
	case nanos == 0:
		return fmt.Sprintf("%s%ds", sign, secs)
	case nanos%1e6 == 0:
		return fmt.Sprintf("%s%d.%03ds", sign, secs, nanos/1e6)
	case nanos%1e3 == 0:
		return fmt.Sprintf("%s%d.%06ds", sign, secs, nanos/1e3)
	default:
		return fmt.Sprintf("%s%d.%09ds", sign, secs, nanos)
	}
}

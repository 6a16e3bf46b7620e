package render

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Names and API versions of generated objects.
const (
	networkingV1 = "networking.istio.io/v1"
	telemetryV1  = "telemetry.istio.io/v1"
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
	if t := ni.Spec.Tracing; t != nil {
		spec := map[string]any{"tracing": tracing(t.Provider, t.SamplingPercentage)}
		out = append(out, newObject(doc, telemetryV1, "Telemetry", ni.Name, NamespaceTelemetryName, nil, spec))
	}
	return out
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

func expandService(doc intent.Document) manifest.Set {
	si := doc.ServiceIntent
	s := &si.Spec
	host := si.ServiceName()
	var out manifest.Set

	if len(s.Versions) > 0 || s.TrafficPolicy != nil {
		spec := map[string]any{"host": host}
		if tp := trafficPolicy(s.TrafficPolicy); tp != nil {
			spec["trafficPolicy"] = tp
		}
		if len(s.Versions) > 0 {
			subsets := make([]any, len(s.Versions))
			for i, v := range s.Versions {
				labels := make(map[string]any, 1)
				if v.Labels != nil {
					for k, val := range v.Labels {
						labels[k] = val
					}
				} else {
					labels[si.VersionLabelKey()] = v.Name
				}
				sub := map[string]any{"name": v.Name, "labels": labels}
				if tp := trafficPolicy(v.TrafficPolicy); tp != nil {
					sub["trafficPolicy"] = tp
				}
				subsets[i] = sub
			}
			spec["subsets"] = subsets
		}
		out = append(out, newObject(doc, networkingV1, "DestinationRule", si.Namespace, si.Name, nil, spec))
	}

	var suspended map[string]bool
	if sp := s.Suspend; sp != nil && len(sp.Versions) > 0 {
		suspended = make(map[string]bool, len(sp.Versions))
		for _, v := range sp.Versions {
			suspended[v] = true
		}
	}
	http := make([]any, 0, len(s.Routes)+1)
	catchAll := false
	for _, r := range s.Routes {
		if allSuspended(r.To, suspended) {
			continue // its requests fall through to the next rules
		}
		catchAll = len(r.Match) == 0
		route := map[string]any{}
		if r.Name != "" {
			route["name"] = r.Name
		}
		if len(r.Match) > 0 {
			ms := make([]any, len(r.Match))
			for i, m := range r.Match {
				ms[i] = matchRequest(m)
			}
			route["match"] = ms
		}
		route["route"] = destinations(host, r.To, suspended)
		routeOptions(route, si, host, r.Timeout, r.Fault)
		http = append(http, route)
	}
	if !catchAll {
		var dests []any
		switch {
		case len(s.Split) > 0:
			dests = destinations(host, s.Split, suspended)
		case len(s.Versions) == 1:
			dests = []any{map[string]any{"destination": map[string]any{"host": host, "subset": s.Versions[0].Name}}}
		case len(s.Versions) > 1 && len(suspended) > 0:
			even := make([]v1alpha1.Destination, len(s.Versions))
			for i, v := range s.Versions {
				even[i] = v1alpha1.Destination{Version: v.Name}
			}
			dests = destinations(host, even, suspended)
		default:
			dests = []any{map[string]any{"destination": map[string]any{"host": host}}}
		}
		route := map[string]any{"route": dests}
		routeOptions(route, si, host, nil, nil)
		http = append(http, route)
	}
	vs := map[string]any{"hosts": []any{host}, "http": http}
	out = append(out, newObject(doc, networkingV1, "VirtualService", si.Namespace, si.Name, nil, vs))

	if t := s.Tracing; t != nil {
		spec := map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": host}},
			"tracing":  tracing(t.Provider, t.SamplingPercentage),
		}
		out = append(out, newObject(doc, telemetryV1, "Telemetry", si.Namespace, si.Name+ServiceTelemetrySuffix, nil, spec))
	}
	return out
}

// routeOptions adds the options every route gets: timeout, retries, fault
// (or the abort of suspend.all) and mirror.
func routeOptions(route map[string]any, si *v1alpha1.ServiceIntent, host string, ruleTimeout *metav1.Duration, ruleFault *v1alpha1.Fault) {
	s := &si.Spec
	timeout := s.Timeout
	if ruleTimeout != nil {
		timeout = ruleTimeout
	}
	if timeout != nil {
		route["timeout"] = protoDuration(timeout.Duration)
	}
	if r := s.Retries; r != nil {
		retries := map[string]any{"attempts": int64(r.Attempts)}
		if r.PerTryTimeout != nil {
			retries["perTryTimeout"] = protoDuration(r.PerTryTimeout.Duration)
		}
		if r.RetryOn != "" {
			retries["retryOn"] = r.RetryOn
		}
		route["retries"] = retries
	}
	fault := s.Fault
	if ruleFault != nil {
		fault = ruleFault
	}
	if sp := s.Suspend; sp != nil && sp.All {
		status := sp.HTTPStatus
		if status == 0 {
			status = DefaultSuspendStatus
		}
		route["fault"] = map[string]any{"abort": map[string]any{
			"httpStatus": int64(status), "percentage": map[string]any{"value": float64(100)}}}
	} else if fault != nil {
		pct := map[string]any{"value": percentOr100(fault.Percentage)}
		f := map[string]any{}
		if fault.Delay != nil {
			f["delay"] = map[string]any{"fixedDelay": protoDuration(fault.Delay.Duration), "percentage": pct}
		}
		if fault.Abort != 0 {
			f["abort"] = map[string]any{"httpStatus": int64(fault.Abort), "percentage": map[string]any{"value": percentOr100(fault.Percentage)}}
		}
		route["fault"] = f
	}
	if m := s.Mirror; m != nil && !suspendedVersion(si, m.Version) {
		route["mirror"] = map[string]any{"host": host, "subset": m.Version}
		route["mirrorPercentage"] = map[string]any{"value": percentOr100(m.Percentage)}
	}
}

func suspendedVersion(si *v1alpha1.ServiceIntent, version string) bool {
	if si.Spec.Suspend == nil {
		return false
	}
	for _, v := range si.Spec.Suspend.Versions {
		if v == version {
			return true
		}
	}
	return false
}

func allSuspended(ds []v1alpha1.Destination, suspended map[string]bool) bool {
	if len(suspended) == 0 {
		return false
	}
	for _, d := range ds {
		if !suspended[d.Version] {
			return false
		}
	}
	return true
}

func percentOr100(p *float64) float64 {
	if p == nil {
		return 100
	}
	return *p
}

// destinations renders a weighted list; a single destination has no weight
// (Istio's default is 100).
func destinations(host string, ds []v1alpha1.Destination, suspended map[string]bool) []any {
	if len(ds) == 1 {
		return []any{map[string]any{"destination": map[string]any{"host": host, "subset": ds[0].Version}}}
	}
	weights := redistribute(ds, suspended)
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = map[string]any{
			"destination": map[string]any{"host": host, "subset": d.Version},
			"weight":      int64(weights[i]),
		}
	}
	return out
}

// redistribute gives suspended versions weight 0 and scales the others up to
// 100 in proportion to their weights, by the largest-remainder method (ties
// to the earlier entry); when the others all weigh 0, they share equally.
// Without suspended versions in the list the weights are returned as they are.
func redistribute(ds []v1alpha1.Destination, suspended map[string]bool) []int {
	w := make([]int, len(ds))
	base, active, hit := 0, 0, false
	for i, d := range ds {
		w[i] = int(d.Weight)
		if suspended[d.Version] {
			hit = true
			continue
		}
		base += int(d.Weight)
		active++
	}
	if !hit || active == 0 {
		return w
	}
	rem := make([]int, len(ds))
	total := 0
	for i, d := range ds {
		switch {
		case suspended[d.Version]:
			w[i], rem[i] = 0, -1
		case base == 0:
			w[i], rem[i] = 100/active, 0
		default:
			w[i], rem[i] = 100*int(d.Weight)/base, 100*int(d.Weight)%base
		}
		total += w[i]
	}
	for left := 100 - total; left > 0; left-- {
		best := -1
		for i := range ds {
			if rem[i] >= 0 && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		w[best]++
		rem[best] = -2 // each entry gets at most one extra point
	}
	return w
}

func matchRequest(m v1alpha1.Match) map[string]any {
	out := map[string]any{}
	if len(m.Headers) > 0 {
		h := make(map[string]any, len(m.Headers))
		for k, v := range m.Headers {
			h[k] = stringMatch(v)
		}
		out["headers"] = h
	}
	if m.URI != nil {
		out["uri"] = stringMatch(*m.URI)
	}
	if m.Method != nil {
		out["method"] = stringMatch(*m.Method)
	}
	if len(m.QueryParams) > 0 {
		q := make(map[string]any, len(m.QueryParams))
		for k, v := range m.QueryParams {
			q[k] = stringMatch(v)
		}
		out["queryParams"] = q
	}
	return out
}

func stringMatch(s v1alpha1.StringMatch) map[string]any {
	switch {
	case s.Exact != "":
		return map[string]any{"exact": s.Exact}
	case s.Prefix != "":
		return map[string]any{"prefix": s.Prefix}
	default:
		return map[string]any{"regex": s.Regex}
	}
}

func trafficPolicy(tp *v1alpha1.TrafficPolicy) map[string]any {
	if tp == nil {
		return nil
	}
	out := map[string]any{}
	if tp.TLS != "" {
		out["tls"] = map[string]any{"mode": tp.TLS}
	}
	if tp.LoadBalancer != "" {
		out["loadBalancer"] = map[string]any{"simple": tp.LoadBalancer}
	}
	if c := tp.ConnectionPool; c != nil {
		cp := map[string]any{}
		tcp := map[string]any{}
		putInt(tcp, "maxConnections", c.MaxConnections)
		if c.ConnectTimeout != nil {
			tcp["connectTimeout"] = protoDuration(c.ConnectTimeout.Duration)
		}
		http := map[string]any{}
		putInt(http, "http1MaxPendingRequests", c.HTTP1MaxPendingRequests)
		putInt(http, "http2MaxRequests", c.HTTP2MaxRequests)
		putInt(http, "maxRequestsPerConnection", c.MaxRequestsPerConnection)
		if len(tcp) > 0 {
			cp["tcp"] = tcp
		}
		if len(http) > 0 {
			cp["http"] = http
		}
		if len(cp) > 0 {
			out["connectionPool"] = cp
		}
	}
	if o := tp.OutlierDetection; o != nil {
		od := map[string]any{}
		putInt(od, "consecutive5xxErrors", o.Consecutive5xxErrors)
		if o.Interval != nil {
			od["interval"] = protoDuration(o.Interval.Duration)
		}
		if o.BaseEjectionTime != nil {
			od["baseEjectionTime"] = protoDuration(o.BaseEjectionTime.Duration)
		}
		putInt(od, "maxEjectionPercent", o.MaxEjectionPercent)
		if len(od) > 0 {
			out["outlierDetection"] = od
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func putInt(m map[string]any, key string, v int32) {
	if v != 0 {
		m[key] = int64(v)
	}
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

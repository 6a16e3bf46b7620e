package importer

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// defaultVersionLabel is the version label an intent implies when it has no
// spec.versionLabel.
const defaultVersionLabel = "version"

// destinationRule maps a DestinationRule to versions (one per subset) and
// traffic policies, and returns the subset names; nil dr gives nil.
//
// Version labels: when every subset has exactly one label, with the same
// key, that key is spec.versionLabel and each version whose label value is
// its name leaves its labels implied; otherwise every version lists its
// labels.
func (c *converter) destinationRule(dr *unstructured.Unstructured, s *v1alpha1.ServiceIntentSpec) map[string]bool {
	if dr == nil {
		return nil
	}
	c.obj = objectID(dr)
	spec, ok := c.object("spec", dr.Object["spec"], "host", "subsets", "trafficPolicy")
	if !ok {
		return nil
	}
	if tp := spec["trafficPolicy"]; tp != nil {
		s.TrafficPolicy = c.trafficPolicy("spec.trafficPolicy", tp)
	}

	type subset struct {
		field, name string
		labels      map[string]string
		policy      *v1alpha1.TrafficPolicy
	}
	list, _ := c.asList("spec.subsets", spec["subsets"])
	subsets := make([]subset, 0, len(list))
	names := make(map[string]bool, len(list))
	for i, v := range list {
		field := index("spec.subsets", i)
		m, ok := c.object(field, v, "name", "labels", "trafficPolicy")
		if !ok {
			continue
		}
		sub := subset{field: field, name: c.asString(join(field, "name"), m["name"])}
		if names[sub.name] {
			c.unsupported(join(field, "name"), "duplicate subset %q", sub.name)
		}
		names[sub.name] = true
		if lm, ok := m["labels"].(map[string]any); ok {
			sub.labels = make(map[string]string, len(lm))
			for _, k := range slices.Sorted(maps.Keys(lm)) {
				sub.labels[k] = c.asString(join(field, "labels."+k), lm[k])
			}
		}
		if len(sub.labels) == 0 {
			c.unsupported(join(field, "labels"), "a subset without labels selects every pod of the Service; a version selects its pods by label")
		}
		if tp := m["trafficPolicy"]; tp != nil {
			sub.policy = c.trafficPolicy(join(field, "trafficPolicy"), tp)
		}
		subsets = append(subsets, sub)
	}

	// Find the version label: one key shared by every subset.
	key, shared := "", len(subsets) > 0
	for _, sub := range subsets {
		if len(sub.labels) != 1 {
			shared = false
			break
		}
		for k := range sub.labels {
			if key == "" {
				key = k
			} else if k != key {
				shared = false
			}
		}
	}
	if shared && key != defaultVersionLabel {
		s.VersionLabel = key
	}
	for _, sub := range subsets {
		v := v1alpha1.Version{Name: sub.name, TrafficPolicy: sub.policy}
		if !shared || sub.labels[key] != sub.name {
			v.Labels = sub.labels
		}
		s.Versions = append(s.Versions, v)
	}
	return names
}

// trafficPolicy maps a DestinationRule traffic policy.
func (c *converter) trafficPolicy(field string, v any) *v1alpha1.TrafficPolicy {
	m, ok := c.object(field, v, "tls", "loadBalancer", "connectionPool", "outlierDetection")
	if !ok {
		return nil
	}
	tp := &v1alpha1.TrafficPolicy{}
	if v := m["tls"]; v != nil {
		f := join(field, "tls")
		if tls, ok := c.object(f, v, "mode"); ok {
			switch mode := c.asString(join(f, "mode"), tls["mode"]); mode {
			case "":
				c.unsupported(f, "TLS settings without a mode cannot be expressed in a ServiceIntent")
			case "MUTUAL":
				c.unsupported(join(f, "mode"), "MUTUAL needs client certificates, which a ServiceIntent cannot carry; ISTIO_MUTUAL uses the mesh's own")
			default:
				tp.TLS = mode
			}
		}
	}
	if v := m["loadBalancer"]; v != nil {
		f := join(field, "loadBalancer")
		if lb, ok := c.object(f, v, "simple"); ok {
			if tp.LoadBalancer = c.asString(join(f, "simple"), lb["simple"]); tp.LoadBalancer == "" {
				c.unsupported(f, "a load balancer without simple cannot be expressed in a ServiceIntent")
			}
		}
	}
	if v := m["connectionPool"]; v != nil {
		tp.ConnectionPool = c.connectionPool(join(field, "connectionPool"), v)
	}
	if v := m["outlierDetection"]; v != nil {
		tp.OutlierDetection = c.outlierDetection(join(field, "outlierDetection"), v)
	}
	return tp
}

func (c *converter) connectionPool(field string, v any) *v1alpha1.ConnectionPool {
	m, ok := c.object(field, v, "tcp", "http")
	if !ok {
		return nil
	}
	cp := &v1alpha1.ConnectionPool{}
	if v := m["tcp"]; v != nil {
		f := join(field, "tcp")
		if tcp, ok := c.object(f, v, "maxConnections", "connectTimeout"); ok {
			cp.MaxConnections = c.int32(join(f, "maxConnections"), tcp["maxConnections"])
			cp.ConnectTimeout = c.duration(join(f, "connectTimeout"), tcp["connectTimeout"])
		}
	}
	if v := m["http"]; v != nil {
		f := join(field, "http")
		if http, ok := c.object(f, v, "http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection"); ok {
			cp.HTTP1MaxPendingRequests = c.int32(join(f, "http1MaxPendingRequests"), http["http1MaxPendingRequests"])
			cp.HTTP2MaxRequests = c.int32(join(f, "http2MaxRequests"), http["http2MaxRequests"])
			cp.MaxRequestsPerConnection = c.int32(join(f, "maxRequestsPerConnection"), http["maxRequestsPerConnection"])
		}
	}
	return cp
}

func (c *converter) outlierDetection(field string, v any) *v1alpha1.OutlierDetection {
	m, ok := c.object(field, v, "consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent")
	if !ok {
		return nil
	}
	od := &v1alpha1.OutlierDetection{
		Consecutive5xxErrors: c.int32(join(field, "consecutive5xxErrors"), m["consecutive5xxErrors"]),
		Interval:             c.duration(join(field, "interval"), m["interval"]),
		BaseEjectionTime:     c.duration(join(field, "baseEjectionTime"), m["baseEjectionTime"]),
		MaxEjectionPercent:   c.int32(join(field, "maxEjectionPercent"), m["maxEjectionPercent"]),
	}
	// consecutive5xxErrors is a wrapper: an explicit 0 turns 5xx ejection
	// off, while an intent leaves a 0 out, which means Istio's default of 5.
	if m["consecutive5xxErrors"] != nil && od.Consecutive5xxErrors == 0 {
		c.unsupported(join(field, "consecutive5xxErrors"), "0 turns 5xx ejection off, which a ServiceIntent cannot say (it leaves out 0, which means Istio's default of 5)")
	}
	return od
}

// describeDR names the DestinationRule that subsets must come from.
func describeDR(dr *unstructured.Unstructured) string {
	if dr == nil {
		return "any DestinationRule of the Service (there is none)"
	}
	return fmt.Sprintf("DestinationRule %s", dr.GetName())
}

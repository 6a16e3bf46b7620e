package expand

import (
	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// destinationRule is the DestinationRule of a ServiceIntent with versions or
// a traffic policy (ok is false otherwise): host is the service's short
// name, with one subset per version selecting {versionLabel: name} unless
// the version has labels of its own.
func destinationRule(doc intent.Document) (obj manifest.Object, ok bool) {
	si := doc.ServiceIntent
	s := &si.Spec
	host := si.ServiceName()
	if len(s.Versions) == 0 && s.TrafficPolicy == nil {
		return manifest.Object{}, false
	}
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
	return newObject(doc, networkingV1, "DestinationRule", si.Namespace, si.Name, nil, spec), true
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

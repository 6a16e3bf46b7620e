package expand

import (
	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
)

// IntentFields maps a field of an object of kind that Expand generated from
// doc to the intent's fields that produced it, most specific first: for a
// VirtualService, spec.http[i] is the i-th rule of spec.routes that
// suspension left in, or the catch-all from spec.split (or spec.versions);
// its destinations are that rule's to or the split's entries; its timeout,
// retries, fault and mirror the rule's own or the intent's. A field it does
// not know maps to the intent itself (an empty path), so that a location is
// always the intent's document at least.
func IntentFields(doc intent.Document, kind string, field intent.Path) []intent.Path {
	if len(field) >= 2 && !field[0].IsIndex && field[0].Key == "metadata" && !field[1].IsIndex &&
		(field[1].Key == "name" || field[1].Key == "namespace") && kind != "Namespace" {
		return []intent.Path{intent.P("metadata", field[1].Key)}
	}
	var out []intent.Path
	switch {
	case doc.NamespaceIntent != nil:
		out = namespaceFields(doc.NamespaceIntent, kind, field)
	case doc.ServiceIntent != nil:
		out = serviceFields(doc.ServiceIntent, kind, field)
	}
	if len(out) == 0 {
		out = []intent.Path{nil}
	}
	return out
}

func namespaceFields(ni *v1alpha1.NamespaceIntent, kind string, field intent.Path) []intent.Path {
	switch {
	case kind == "Telemetry":
		return []intent.Path{intent.P("spec", "tracing")}
	case hasPrefix(field, "metadata", "labels"):
		if ni.Spec.Revision != "" {
			return []intent.Path{intent.P("spec", "revision"), intent.P("spec", "dataplane")}
		}
		return []intent.Path{intent.P("spec", "dataplane")}
	case hasPrefix(field, "metadata", "name"):
		return []intent.Path{intent.P("metadata", "name")}
	}
	return nil
}

func serviceFields(si *v1alpha1.ServiceIntent, kind string, field intent.Path) []intent.Path {
	service := intent.P("spec", "service")
	if si.Spec.Service == "" {
		service = intent.P("metadata", "name")
	}
	switch kind {
	case "Telemetry":
		if hasPrefix(field, "spec", "selector") {
			return []intent.Path{service}
		}
		return []intent.Path{intent.P("spec", "tracing")}
	case "DestinationRule":
		switch {
		case hasPrefix(field, "spec", "host"):
			return []intent.Path{service}
		case hasPrefix(field, "spec", "trafficPolicy"):
			return []intent.Path{trafficPolicyField(intent.P("spec", "trafficPolicy"), field[2:])}
		case hasPrefix(field, "spec", "subsets") && len(field) >= 3 && field[2].IsIndex:
			v := intent.P("spec", "versions", field[2].Index)
			rest := field[3:]
			switch {
			case hasPrefix(rest, "trafficPolicy"):
				return []intent.Path{trafficPolicyField(v.Child("trafficPolicy"), rest[1:])}
			case hasPrefix(rest, "labels") && field[2].Index < len(si.Spec.Versions) && si.Spec.Versions[field[2].Index].Labels == nil:
				return []intent.Path{v.Child("name"), intent.P("spec", "versionLabel")}
			case len(rest) > 0 && !rest[0].IsIndex:
				return []intent.Path{v.Child(rest[0].Key)}
			}
			return []intent.Path{v}
		case hasPrefix(field, "spec", "subsets"):
			return []intent.Path{intent.P("spec", "versions")}
		}
	case "VirtualService":
		switch {
		case hasPrefix(field, "spec", "hosts"):
			return []intent.Path{service}
		case hasPrefix(field, "spec", "http") && len(field) >= 3 && field[2].IsIndex:
			return httpFields(si, field[2].Index, field[3:])
		case hasPrefix(field, "spec", "http"):
			return []intent.Path{intent.P("spec", "routes"), intent.P("spec", "split")}
		}
	}
	return nil
}

// httpFields maps rest, a field of the VirtualService's i-th HTTP route.
func httpFields(si *v1alpha1.ServiceIntent, i int, rest intent.Path) []intent.Path {
	s := &si.Spec
	var suspended map[string]bool
	if sp := s.Suspend; sp != nil && len(sp.Versions) > 0 {
		suspended = make(map[string]bool, len(sp.Versions))
		for _, v := range sp.Versions {
			suspended[v] = true
		}
	}
	// The routes Expand kept, as it keeps them.
	var kept []int
	catchAll := false
	for k, r := range s.Routes {
		if allSuspended(r.To, suspended) {
			continue
		}
		kept = append(kept, k)
		catchAll = len(r.Match) == 0
	}
	var rule intent.Path // the intent's rule, nil for the catch-all
	var dests intent.Path
	var hasTimeout, hasFault bool
	switch {
	case i < len(kept):
		k := kept[i]
		rule = intent.P("spec", "routes", k)
		dests = rule.Child("to")
		hasTimeout, hasFault = s.Routes[k].Timeout != nil, s.Routes[k].Fault != nil
	case i == len(kept) && !catchAll:
		switch {
		case len(s.Split) > 0:
			dests = intent.P("spec", "split")
		case len(s.Versions) > 0:
			dests = intent.P("spec", "versions")
		default:
			dests = intent.P("spec", "service")
			if s.Service == "" {
				dests = intent.P("metadata", "name")
			}
		}
	default:
		return nil
	}
	var suspend []intent.Path
	if suspended != nil {
		suspend = []intent.Path{intent.P("spec", "suspend", "versions")}
	}
	whole := dests
	if rule != nil {
		whole = rule
	}
	if len(rest) == 0 || rest[0].IsIndex {
		return append([]intent.Path{whole}, suspend...)
	}
	switch key := rest[0].Key; key {
	case "route":
		if len(rest) < 2 || !rest[1].IsIndex || dests.String() == "spec.service" || dests.String() == "metadata.name" {
			return append([]intent.Path{dests}, suspend...)
		}
		d := dests.Child(rest[1].Index)
		byVersion := dests.String() == "spec.versions"
		switch {
		case len(rest) >= 3 && !rest[2].IsIndex && rest[2].Key == "weight" && !byVersion:
			d = d.Child("weight")
		case len(rest) >= 4 && !rest[3].IsIndex && rest[3].Key == "subset" && byVersion:
			d = d.Child("name")
		case len(rest) >= 4 && !rest[3].IsIndex && rest[3].Key == "subset":
			d = d.Child("version")
		}
		return append([]intent.Path{d}, suspend...)
	case "match", "name":
		if rule != nil {
			return []intent.Path{rule.Child(key).Child(pathElems(rest[1:])...)}
		}
	case "timeout":
		if hasTimeout {
			return []intent.Path{rule.Child("timeout")}
		}
		return []intent.Path{intent.P("spec", "timeout")}
	case "retries":
		p := intent.P("spec", "retries")
		if len(rest) > 1 && !rest[1].IsIndex {
			p = p.Child(rest[1].Key)
		}
		return []intent.Path{p}
	case "fault":
		if sp := s.Suspend; sp != nil && sp.All {
			return []intent.Path{intent.P("spec", "suspend")}
		}
		p := intent.P("spec", "fault")
		if hasFault {
			p = rule.Child("fault")
		}
		if len(rest) > 1 && !rest[1].IsIndex && (rest[1].Key == "delay" || rest[1].Key == "abort") {
			p = p.Child(rest[1].Key)
		}
		return []intent.Path{p}
	case "mirror":
		return []intent.Path{intent.P("spec", "mirror", "version")}
	case "mirrorPercentage":
		return []intent.Path{intent.P("spec", "mirror", "percentage")}
	}
	return []intent.Path{whole}
}

// trafficPolicyField maps a field of a rendered trafficPolicy to the
// intent's trafficPolicy at base.
func trafficPolicyField(base intent.Path, rest intent.Path) intent.Path {
	if len(rest) == 0 || rest[0].IsIndex {
		return base
	}
	switch key := rest[0].Key; key {
	case "tls", "loadBalancer":
		return base.Child(key)
	case "connectionPool", "outlierDetection":
		p := base.Child(key)
		// connectionPool.tcp.maxConnections is connectionPool.maxConnections.
		for _, e := range rest[1:] {
			if !e.IsIndex && e.Key != "tcp" && e.Key != "http" {
				return p.Child(e.Key)
			}
		}
		return p
	}
	return base
}

func pathElems(p intent.Path) []any {
	out := make([]any, len(p))
	for i, e := range p {
		if e.IsIndex {
			out[i] = e.Index
		} else {
			out[i] = e.Key
		}
	}
	return out
}

func hasPrefix(p intent.Path, keys ...string) bool {
	if len(p) < len(keys) {
		return false
	}
	for i, k := range keys {
		if p[i].IsIndex || p[i].Key != k {
			return false
		}
	}
	return true
}

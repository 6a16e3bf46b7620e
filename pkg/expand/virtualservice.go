package expand

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// virtualService is the VirtualService of a ServiceIntent: hosts
// [service]; one HTTP route per spec.routes rule in order (a rule whose
// destinations are all suspended left out), then a catch-all from
// spec.split, or to the only version, or to the host; timeout, retries,
// fault and mirror on every route. See Expand for suspension.
func virtualService(doc intent.Document) manifest.Object {
	si := doc.ServiceIntent
	s := &si.Spec
	host := si.ServiceName()

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
	return newObject(doc, networkingV1, "VirtualService", si.Namespace, si.Name, nil, vs)
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

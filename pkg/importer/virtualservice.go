package importer

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// liveRoute is one HTTP route of a live VirtualService, read into intent types.
type liveRoute struct {
	field   string // spec.http[i]
	name    string
	match   []v1alpha1.Match
	dests   []liveDest
	timeout *metav1.Duration
	retries *v1alpha1.Retries
	fault   *v1alpha1.Fault
	mirror  *v1alpha1.Mirror
}

// liveDest is one destination of a route; subset is empty for the whole Service.
type liveDest struct {
	subset string
	weight int32
}

// hostOnly tells whether the route sends every request to the whole Service.
func (r *liveRoute) hostOnly() bool { return len(r.dests) == 1 && r.dests[0].subset == "" }

// to returns the route's destinations as an intent list; the only
// destination of a list gets all the traffic, whatever its weight says.
func (r *liveRoute) to() []v1alpha1.Destination {
	if len(r.dests) == 1 {
		return []v1alpha1.Destination{{Version: r.dests[0].subset, Weight: 100}}
	}
	out := make([]v1alpha1.Destination, len(r.dests))
	for i, d := range r.dests {
		out[i] = v1alpha1.Destination{Version: d.subset, Weight: d.weight}
	}
	return out
}

// abortAll returns the HTTP status of a fault that aborts every request and
// does nothing else, 0 for any other fault.
func abortAll(f *v1alpha1.Fault) int32 {
	if f == nil || f.Delay != nil || f.Percentage != nil {
		return 0
	}
	return f.Abort
}

// virtualService maps a VirtualService's HTTP routes onto s, whose versions
// (subsets) come from dr.
//
// The last route must catch every request and the ones before it must match.
// The catch-all becomes spec.split (to the whole Service: no split) and its
// timeout and fault the spec's, which every rule then inherits; when a rule
// has no timeout or fault of its own to override what it would inherit, or
// the catch-all has a name, the catch-all becomes a last rule without match
// instead. Retries and mirror must be the same on every route. Faults that
// abort every request with the same status on every route are suspend.all;
// with a split, versions that get no traffic anywhere (weight 0 or left out)
// are suspend.versions.
func (c *converter) virtualService(vs *unstructured.Unstructured, s *v1alpha1.ServiceIntentSpec, subsets map[string]bool, dr *unstructured.Unstructured) {
	c.obj = objectID(vs)
	spec, ok := c.object("spec", vs.Object["spec"], "hosts", "http")
	if !ok {
		return
	}
	list, _ := c.asList("spec.http", spec["http"])
	if len(list) == 0 {
		c.unsupported("spec.http", "no HTTP routes: a ServiceIntent renders HTTP routes only")
		return
	}
	routes := make([]*liveRoute, 0, len(list))
	for i, v := range list {
		routes = append(routes, c.route(index("spec.http", i), v, subsets, dr))
	}
	if c.svc.Skipped {
		return
	}

	// One retry policy and one mirror serve every route of an intent.
	first := routes[0]
	for _, r := range routes[1:] {
		if !reflect.DeepEqual(r.retries, first.retries) {
			c.unsupported(join(r.field, "retries"), "differs from %s.retries; a ServiceIntent has one retry policy for every route", first.field)
		}
		if !reflect.DeepEqual(r.mirror, first.mirror) {
			c.unsupported(join(r.field, "mirror"), "differs from %s.mirror; a ServiceIntent has one mirror for every route", first.field)
		}
	}
	s.Retries, s.Mirror = first.retries, first.mirror

	// Every request aborted on every route: suspend.all.
	status := abortAll(first.fault)
	for _, r := range routes {
		if abortAll(r.fault) != status {
			status = 0
		}
	}
	faultOf := func(r *liveRoute) *v1alpha1.Fault {
		if status != 0 {
			return nil // suspend.all renders the abort on every route
		}
		return r.fault
	}

	// The last route catches every request; the rules before it match.
	last := routes[len(routes)-1]
	rules := routes[:len(routes)-1]
	if len(last.match) > 0 {
		c.unsupported(join(last.field, "match"), "the last route matches: requests that match no route get 404 from Envoy, while a ServiceIntent always routes them")
	}
	for _, r := range rules {
		if len(r.match) == 0 {
			c.unsupported(r.field, "has no match, so the routes after it are never used")
		}
		if r.hostOnly() {
			c.unsupported(join(r.field, "route"), "routes to the whole Service; a matching rule of a ServiceIntent routes to versions")
		}
	}
	if c.svc.Skipped {
		return
	}

	// The catch-all is the split unless the rules cannot inherit from it.
	why := ""
	if last.name != "" {
		why = fmt.Sprintf("it has a name (%q)", last.name)
	}
	for _, r := range rules {
		switch {
		case why != "":
		case r.timeout == nil && last.timeout != nil:
			why = fmt.Sprintf("%s has no timeout, and would inherit its %s", r.field, last.timeout.Duration)
		case faultOf(r) == nil && faultOf(last) != nil:
			why = fmt.Sprintf("%s has no fault, and would inherit its fault", r.field)
		}
	}
	switch {
	case why == "":
		s.Timeout, s.Fault = last.timeout, faultOf(last)
		if !last.hostOnly() {
			s.Split = last.to()
		} else if len(s.Versions) == 1 {
			c.unsupported(join(last.field, "route"), "routes to the whole Service while %s has one subset; a ServiceIntent with one version routes every other request to it", describeDR(dr))
			return
		}
		for _, r := range rules {
			route := v1alpha1.Route{Name: r.name, Match: r.match, To: r.to()}
			if !sameDuration(r.timeout, s.Timeout) {
				route.Timeout = r.timeout
			}
			if f := faultOf(r); !reflect.DeepEqual(f, s.Fault) {
				route.Fault = f
			}
			s.Routes = append(s.Routes, route)
		}
	case last.hostOnly():
		c.unsupported(last.field, "routes to the whole Service, which only the catch-all of a ServiceIntent does, and cannot be that: %s", why)
		return
	default:
		// A last rule without match carries its own name, timeout and fault.
		for _, r := range routes {
			s.Routes = append(s.Routes, v1alpha1.Route{Name: r.name, Match: r.match, To: r.to(), Timeout: r.timeout, Fault: faultOf(r)})
		}
	}

	// Suspension.
	if status != 0 {
		s.Suspend = &v1alpha1.Suspend{All: true, HTTPStatus: status,
			Reason: fmt.Sprintf("imported: every request aborted with %d in live VirtualService %s", status, vs.GetName())}
		c.note("spec.http", "every route aborts every request with %d: imported as suspend.all", status)
		return
	}
	if s.Split == nil {
		return
	}
	routed := map[string]bool{}
	for _, r := range routes {
		for _, d := range r.dests {
			if len(r.dests) == 1 || d.weight > 0 {
				routed[d.subset] = true
			}
		}
	}
	if s.Mirror != nil {
		routed[s.Mirror.Version] = true
	}
	var idle []string
	for _, v := range s.Versions {
		if !routed[v.Name] {
			idle = append(idle, v.Name)
		}
	}
	if len(idle) > 0 {
		s.Suspend = &v1alpha1.Suspend{Versions: idle,
			Reason: fmt.Sprintf("imported: weight 0 in live VirtualService %s", vs.GetName())}
		c.note("spec.http", "versions %s get no traffic (weight 0 or left out): imported as suspend.versions; take them out of it to route to them again",
			strings.Join(idle, ", "))
	}
}

// sameDuration compares two optional durations.
func sameDuration(a, b *metav1.Duration) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Duration == b.Duration
}

// route reads one HTTP route.
func (c *converter) route(field string, v any, subsets map[string]bool, dr *unstructured.Unstructured) *liveRoute {
	r := &liveRoute{field: field}
	m, ok := c.object(field, v, "name", "match", "route", "timeout", "retries", "fault", "mirror", "mirrorPercentage")
	if !ok {
		return r
	}
	r.name = c.asString(join(field, "name"), m["name"])
	if v := m["match"]; v != nil {
		r.match = c.matches(join(field, "match"), v)
	}

	list, _ := c.asList(join(field, "route"), m["route"])
	if len(list) == 0 {
		c.unsupported(join(field, "route"), "no destination: a ServiceIntent route always has one")
	}
	sum := 0
	seen := map[string]bool{}
	for j, v := range list {
		f := index(join(field, "route"), j)
		dm, ok := c.object(f, v, "destination", "weight")
		if !ok {
			continue
		}
		d := liveDest{
			subset: c.destination(join(f, "destination"), dm["destination"], subsets, dr),
			weight: c.int32(join(f, "weight"), dm["weight"]),
		}
		sum += int(d.weight)
		if len(list) > 1 {
			switch {
			case d.subset == "":
				c.unsupported(join(f, "destination"), "a weighted destination without subset cannot be expressed in a ServiceIntent")
			case seen[d.subset]:
				c.unsupported(join(f, "destination.subset"), "subset %q is listed twice", d.subset)
			}
			seen[d.subset] = true
		}
		r.dests = append(r.dests, d)
	}
	if len(list) > 1 && sum != 100 {
		c.unsupported(join(field, "route"), "weights sum to %d; a ServiceIntent's sum to 100", sum)
	}

	r.timeout = c.duration(join(field, "timeout"), m["timeout"])
	r.retries = c.retries(join(field, "retries"), m["retries"])
	r.fault = c.fault(join(field, "fault"), m["fault"])
	r.mirror = c.mirror(field, m["mirror"], m["mirrorPercentage"], subsets, dr)
	return r
}

// destination reads a destination of the Service and returns its subset.
func (c *converter) destination(field string, v any, subsets map[string]bool, dr *unstructured.Unstructured) string {
	m, ok := c.object(field, v, "host", "subset")
	if !ok {
		return ""
	}
	host := c.asString(join(field, "host"), m["host"])
	if svc, ok := serviceOf(host, c.ns); !ok || svc != c.svc.Name {
		c.unsupported(join(field, "host"), "routes to %q, not to Service %s; a ServiceIntent routes to its own Service", host, c.svc.Name)
	}
	subset := c.asString(join(field, "subset"), m["subset"])
	if subset != "" && !subsets[subset] {
		c.unsupported(join(field, "subset"), "subset %q is not defined by %s", subset, describeDR(dr))
	}
	return subset
}

// matches reads the match list of a route.
func (c *converter) matches(field string, v any) []v1alpha1.Match {
	list, _ := c.asList(field, v)
	var out []v1alpha1.Match
	for i, v := range list {
		f := index(field, i)
		m, ok := c.object(f, v, "headers", "uri", "method", "queryParams")
		if !ok {
			continue
		}
		var mt v1alpha1.Match
		if hv := m["headers"]; hv != nil {
			if hm, ok := c.asMap(join(f, "headers"), hv); ok {
				mt.Headers = make(map[string]v1alpha1.StringMatch, len(hm))
				for _, name := range slices.Sorted(maps.Keys(hm)) {
					hf := join(f, "headers."+name)
					if strings.ToLower(name) != name {
						c.unsupported(hf, "header names are matched in lower case; a ServiceIntent refuses %q", name)
					}
					if sm := c.stringMatch(hf, hm[name], true); sm != nil {
						mt.Headers[name] = *sm
					}
				}
			}
		}
		if uv := m["uri"]; uv != nil {
			mt.URI = c.stringMatch(join(f, "uri"), uv, true)
		}
		if mv := m["method"]; mv != nil {
			mt.Method = c.stringMatch(join(f, "method"), mv, true)
		}
		if qv := m["queryParams"]; qv != nil {
			if qm, ok := c.asMap(join(f, "queryParams"), qv); ok {
				mt.QueryParams = make(map[string]v1alpha1.StringMatch, len(qm))
				for _, name := range slices.Sorted(maps.Keys(qm)) {
					if sm := c.stringMatch(join(f, "queryParams."+name), qm[name], false); sm != nil {
						mt.QueryParams[name] = *sm
					}
				}
			}
		}
		if len(mt.Headers) == 0 && mt.URI == nil && mt.Method == nil && len(mt.QueryParams) == 0 {
			c.unsupported(f, "a match without conditions cannot be expressed in a ServiceIntent; leave out match instead")
		}
		out = append(out, mt)
	}
	return out
}

// stringMatch reads an Istio StringMatch: exactly one of exact, prefix and
// regex, not empty.
func (c *converter) stringMatch(field string, v any, prefixOK bool) *v1alpha1.StringMatch {
	m, ok := c.object(field, v, "exact", "prefix", "regex")
	if !ok {
		return nil
	}
	var set []string
	for _, k := range []string{"exact", "prefix", "regex"} {
		if m[k] != nil {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		c.unsupported(field, "matches %s; a ServiceIntent matches one way: exact, prefix or regex", describeMatch(set))
		return nil
	}
	s := c.asString(join(field, set[0]), m[set[0]])
	if s == "" {
		c.unsupported(join(field, set[0]), "an empty %s match cannot be expressed in a ServiceIntent", set[0])
		return nil
	}
	switch set[0] {
	case "exact":
		return &v1alpha1.StringMatch{Exact: s}
	case "prefix":
		if !prefixOK {
			c.unsupported(join(field, "prefix"), "prefix matches of query parameters cannot be expressed in a ServiceIntent")
		}
		return &v1alpha1.StringMatch{Prefix: s}
	default:
		return &v1alpha1.StringMatch{Regex: s}
	}
}

func describeMatch(set []string) string {
	if len(set) == 0 {
		return "presence only"
	}
	return strings.Join(set, " and ")
}

// retries reads a retry policy; nil when absent.
func (c *converter) retries(field string, v any) *v1alpha1.Retries {
	if v == nil {
		return nil
	}
	m, ok := c.object(field, v, "attempts", "perTryTimeout", "retryOn")
	if !ok {
		return nil
	}
	return &v1alpha1.Retries{
		Attempts:      c.int32(join(field, "attempts"), m["attempts"]),
		PerTryTimeout: c.duration(join(field, "perTryTimeout"), m["perTryTimeout"]),
		RetryOn:       c.asString(join(field, "retryOn"), m["retryOn"]),
	}
}

// fault reads a fault injection; nil when absent. Its percentage is nil for
// 100, as in a hand-written intent.
func (c *converter) fault(field string, v any) *v1alpha1.Fault {
	if v == nil {
		return nil
	}
	m, ok := c.object(field, v, "delay", "abort")
	if !ok {
		return nil
	}
	f := &v1alpha1.Fault{}
	var pcts []float64
	percentage := func(f string, v any) {
		if v == nil {
			c.unsupported(f, "no percentage: Istio then injects the fault into no request, which a ServiceIntent cannot say (its default is 100%%)")
			return
		}
		pcts = append(pcts, c.percentage(join(f, "percentage"), v))
	}
	if dv := m["delay"]; dv != nil {
		df := join(field, "delay")
		if dm, ok := c.object(df, dv, "fixedDelay", "percentage"); ok {
			if f.Delay = c.duration(join(df, "fixedDelay"), dm["fixedDelay"]); f.Delay == nil {
				c.unsupported(df, "a delay without fixedDelay cannot be expressed in a ServiceIntent")
			}
			percentage(df, dm["percentage"])
		}
	}
	if av := m["abort"]; av != nil {
		af := join(field, "abort")
		if am, ok := c.object(af, av, "httpStatus", "percentage"); ok {
			if f.Abort = c.int32(join(af, "httpStatus"), am["httpStatus"]); f.Abort == 0 {
				c.unsupported(af, "an abort without httpStatus cannot be expressed in a ServiceIntent")
			}
			percentage(af, am["percentage"])
		}
	}
	switch {
	case m["delay"] == nil && m["abort"] == nil:
		c.unsupported(field, "a fault without delay or abort cannot be expressed in a ServiceIntent")
	case len(pcts) == 2 && pcts[0] != pcts[1]:
		c.unsupported(field, "delay and abort hit different shares of requests (%v%% and %v%%); a ServiceIntent fault has one percentage", pcts[0], pcts[1])
	case len(pcts) > 0 && pcts[0] != 100:
		p := pcts[0]
		f.Percentage = &p
	}
	return f
}

// mirror reads the mirror of the route at field; nil when absent. Its
// percentage is nil for 100 (Istio's default too).
func (c *converter) mirror(field string, mv, pv any, subsets map[string]bool, dr *unstructured.Unstructured) *v1alpha1.Mirror {
	if mv == nil {
		if pv != nil {
			c.unsupported(join(field, "mirrorPercentage"), "mirrorPercentage without mirror cannot be expressed in a ServiceIntent")
		}
		return nil
	}
	f := join(field, "mirror")
	subset := c.destination(f, mv, subsets, dr)
	if subset == "" {
		c.unsupported(f, "mirrors to the whole Service; a ServiceIntent mirrors to a version")
		return nil
	}
	m := &v1alpha1.Mirror{Version: subset}
	if pv != nil {
		if p := c.percentage(join(field, "mirrorPercentage"), pv); p != 100 {
			m.Percentage = &p
		}
	}
	return m
}

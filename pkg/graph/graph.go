// Package graph builds the traffic graph of each service from rendered (or
// live) VirtualServices and DestinationRules — versions as nodes, weighted
// edges, match conditions as labelled branches, suspended versions and fault
// injection marked — and draws it as a self-contained, script-free SVG.
//
// No telemetry is read: the graph is what the routing says, not what the
// traffic did. Build reads what pkg/expand writes (and hand-made objects of
// the same shape); SVG (svg.go) renders one graph.
package graph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/jsonvalue"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Graph is the traffic graph of one VirtualService.
type Graph struct {
	// Namespace and Name of the VirtualService.
	Namespace, Name string
	// Hosts are the VirtualService's hosts.
	Hosts []string
	// Intent and Source are the meshintent.io/intent and
	// meshintent.io/source annotations (empty for hand-made objects).
	Intent, Source string
	// Versions are the nodes: the DestinationRule's subsets in their order,
	// then subsets the routes name that no DestinationRule declares.
	Versions []Version
	// Rules are the HTTP routes in order; the first that matches a request
	// takes it.
	Rules []Rule
}

// Version is one subset of the service.
type Version struct {
	// Name of the subset; empty stands for the host without subset.
	Name string
	// Host is the destination host; set only when it is not the graph's own
	// (a route to another service).
	Host string
	// Declared is true when a DestinationRule declares the subset.
	Declared bool
	// Suspended is true when the routes name the version only with weight
	// 0 (what spec.suspend.versions renders).
	Suspended bool
	// Unrouted is true when no route sends it traffic and it is not
	// Suspended (a subset nothing names).
	Unrouted bool
	// MirrorOnly is true when it gets only mirrored copies of requests.
	MirrorOnly bool
}

// ID is the node's key: host/subset or subset.
func (v Version) ID() string {
	if v.Host != "" {
		return v.Host + "/" + v.Name
	}
	return v.Name
}

// Label is what the node shows: the subset, the host for a subset-less
// destination, "host subset" for another service's.
func (v Version) Label() string {
	switch {
	case v.Host != "" && v.Name != "":
		return v.Host + " " + v.Name
	case v.Host != "":
		return v.Host
	case v.Name == "":
		return "(all pods)"
	default:
		return v.Name
	}
}

// Rule is one HTTP route: a branch taken by the requests its match selects.
type Rule struct {
	// Name of the route (spec.routes[].name), if any.
	Name string
	// Match describes the conditions: "header end-user = jason AND uri
	// starts /api", entries joined by OR; empty for a catch-all.
	Match string
	// Edges are the weighted destinations, in order.
	Edges []Edge
	// Abort is the HTTP status of an abort fault hitting every request
	// (suspend.all renders one); no edge is taken then.
	Abort int64
	// Fault describes fault injection that hits only some requests or
	// delays them: "delay 5s (10%)", "abort 500 (10%)".
	Fault string
	// Mirror is the mirrored subset and MirrorPercent the share copied.
	Mirror        string
	MirrorPercent float64
	// Timeout of the route, as written ("3s").
	Timeout string
}

// CatchAll reports whether the rule takes every request that reaches it.
func (r Rule) CatchAll() bool { return r.Match == "" }

// Label names the rule for people: its name and match, or "all other
// requests".
func (r Rule) Label() string {
	m := r.Match
	if m == "" {
		m = "all other requests"
	}
	if r.Name != "" {
		return r.Name + ": " + m
	}
	return m
}

// Edge is a weighted destination of a rule.
type Edge struct {
	// To is the Version's ID.
	To string
	// Weight in percent; a lone destination without weight gets 100.
	Weight int64
}

// Build returns the graph of each VirtualService among objs, sorted by
// namespace and name; DestinationRules of the same namespace and host
// supply the versions. Objects of other kinds are ignored.
func Build(objs []*unstructured.Unstructured) []Graph {
	subsets := map[string][]string{} // namespace/host → subset names
	for _, o := range objs {
		if o.GetKind() != "DestinationRule" {
			continue
		}
		host, _, _ := unstructured.NestedString(o.Object, "spec", "host")
		list, _, _ := unstructured.NestedSlice(o.Object, "spec", "subsets")
		key := o.GetNamespace() + "/" + shortHost(host, o.GetNamespace())
		for _, s := range list {
			if m, ok := s.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					subsets[key] = append(subsets[key], name)
				}
			}
		}
	}
	var out []Graph
	for _, o := range objs {
		if o.GetKind() == "VirtualService" {
			out = append(out, buildOne(o, subsets))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// FromSet is Build for a rendered set.
func FromSet(set manifest.Set) []Graph {
	objs := make([]*unstructured.Unstructured, 0, len(set))
	for _, o := range set {
		if o.Unstructured != nil {
			objs = append(objs, o.Unstructured)
		}
	}
	return Build(objs)
}

// shortHost strips ".<ns>.svc.cluster.local" and ".<ns>" from a host of
// namespace ns, so that "reviews" and "reviews.bookinfo.svc.cluster.local"
// name the same service.
func shortHost(host, ns string) string {
	for _, suffix := range []string{"." + ns + ".svc.cluster.local", "." + ns + ".svc", "." + ns} {
		if ns != "" && strings.HasSuffix(host, suffix) {
			return strings.TrimSuffix(host, suffix)
		}
	}
	return host
}

func buildOne(vs *unstructured.Unstructured, subsets map[string][]string) Graph {
	ns := vs.GetNamespace()
	g := Graph{Namespace: ns, Name: vs.GetName()}
	g.Hosts, _, _ = unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
	ann := vs.GetAnnotations()
	g.Intent, g.Source = ann[manifest.IntentAnnotation], ann[manifest.SourceAnnotation]
	own := map[string]bool{}
	for _, h := range g.Hosts {
		own[shortHost(h, ns)] = true
	}

	// Versions: the DestinationRules' subsets of the VirtualService's hosts.
	index := map[string]int{}
	add := func(v Version) int {
		if i, ok := index[v.ID()]; ok {
			return i
		}
		index[v.ID()] = len(g.Versions)
		g.Versions = append(g.Versions, v)
		return len(g.Versions) - 1
	}
	for _, h := range g.Hosts {
		for _, s := range subsets[ns+"/"+shortHost(h, ns)] {
			add(Version{Name: s, Declared: true})
		}
	}

	zeroOnly := map[string]bool{} // named, so far only with weight 0
	positive := map[string]bool{}
	mirrored := map[string]bool{}
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	for _, item := range http {
		route, _ := item.(map[string]any)
		r := Rule{Match: MatchLabel(route)}
		r.Name, _, _ = unstructured.NestedString(route, "name")
		r.Timeout, _, _ = unstructured.NestedString(route, "timeout")
		if code, pct, ok := abort(route); ok && pct >= 100 {
			r.Abort = code
		}
		r.Fault = faultLabel(route, r.Abort != 0)
		if m, ok, _ := unstructured.NestedString(route, "mirror", "subset"); ok {
			r.Mirror = m
			r.MirrorPercent = 100
			if p, ok := number(route, "mirrorPercentage", "value"); ok {
				r.MirrorPercent = p
			}
			add(Version{Name: m})
			mirrored[m] = true
		}
		dests, _, _ := unstructured.NestedSlice(route, "route")
		for _, d := range dests {
			dm, _ := d.(map[string]any)
			host, _, _ := unstructured.NestedString(dm, "destination", "host")
			subset, _, _ := unstructured.NestedString(dm, "destination", "subset")
			v := Version{Name: subset}
			if !own[shortHost(host, ns)] {
				v.Host = host
			}
			weight, hasWeight := number(dm, "weight")
			w := int64(weight)
			if !hasWeight && len(dests) == 1 {
				w = 100
			}
			i := add(v)
			id := g.Versions[i].ID()
			r.Edges = append(r.Edges, Edge{To: id, Weight: w})
			if w > 0 && r.Abort == 0 {
				positive[id] = true
			} else if !positive[id] {
				zeroOnly[id] = true
			}
		}
		g.Rules = append(g.Rules, r)
	}
	for i := range g.Versions {
		id := g.Versions[i].ID()
		switch {
		case positive[id]:
		case mirrored[id]:
			g.Versions[i].MirrorOnly = true
		case zeroOnly[id]:
			g.Versions[i].Suspended = true
		default:
			g.Versions[i].Unrouted = true
		}
	}
	// With every rule aborting, nothing is routed, and nothing is
	// "suspended" by weight either: Abort marks it.
	return g
}

// Suspended lists the suspended versions' names.
func (g Graph) Suspended() []string {
	var out []string
	for _, v := range g.Versions {
		if v.Suspended {
			out = append(out, v.Label())
		}
	}
	return out
}

// Summary describes the graph in one paragraph of text: the accessible
// description of the SVG and the text alternative on a page.
func (g Graph) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Traffic of %s in %s: %d rule(s), %d version(s).", g.Name, g.Namespace, len(g.Rules), len(g.Versions))
	for i, r := range g.Rules {
		fmt.Fprintf(&b, " Rule %d (%s):", i+1, r.Label())
		if r.Abort != 0 {
			fmt.Fprintf(&b, " every request aborted with HTTP %d.", r.Abort)
			continue
		}
		parts := make([]string, len(r.Edges))
		for j, e := range r.Edges {
			parts[j] = fmt.Sprintf("%d%% to %s", e.Weight, e.To)
			if e.Weight == 0 {
				parts[j] += " (suspended)"
			}
		}
		b.WriteString(" " + strings.Join(parts, ", ") + ".")
		if r.Fault != "" {
			b.WriteString(" Fault injection: " + r.Fault + ".")
		}
		if r.Mirror != "" {
			fmt.Fprintf(&b, " Mirrored to %s (%g%%).", r.Mirror, r.MirrorPercent)
		}
	}
	if s := g.Suspended(); len(s) > 0 {
		b.WriteString(" Suspended: " + strings.Join(s, ", ") + ".")
	}
	return b.String()
}

// MatchLabel describes the match entries of a VirtualService's HTTP route
// as the graph and the plan's diagrams show them: conditions in one entry
// joined by AND ("uri starts /api AND header end-user = jason"), entries by
// OR; an entry without conditions is "any request", and no match at all "".
func MatchLabel(route map[string]any) string {
	matches, _, _ := unstructured.NestedSlice(route, "match")
	var entries []string
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		var conds []string
		for _, field := range []string{"uri", "method", "authority", "scheme"} {
			if s, ok := mm[field].(map[string]any); ok {
				conds = append(conds, field+" "+stringMatch(s))
			}
		}
		for _, field := range []struct{ key, word string }{{"headers", "header"}, {"queryParams", "query"}} {
			fields, _ := mm[field.key].(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(fields)) {
				s, _ := fields[k].(map[string]any)
				conds = append(conds, field.word+" "+k+" "+stringMatch(s))
			}
		}
		if len(conds) == 0 {
			conds = append(conds, "any request")
		}
		entries = append(entries, strings.Join(conds, " AND "))
	}
	return strings.Join(entries, " OR ")
}

func stringMatch(s map[string]any) string {
	switch {
	case s["exact"] != nil:
		return fmt.Sprintf("= %v", s["exact"])
	case s["prefix"] != nil:
		return fmt.Sprintf("starts %v", s["prefix"])
	case s["regex"] != nil:
		return fmt.Sprintf("~ %v", s["regex"])
	}
	return "(any)"
}

// number reads an integer or float field.
func number(obj map[string]any, path ...string) (float64, bool) {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj, path...)
	if !ok {
		return 0, false
	}
	return jsonvalue.Float(v)
}

// abort returns an abort fault's status and percentage (100 when unset).
func abort(route map[string]any) (code int64, pct float64, ok bool) {
	c, ok := number(route, "fault", "abort", "httpStatus")
	if !ok {
		return 0, 0, false
	}
	pct = 100
	if p, found := number(route, "fault", "abort", "percentage", "value"); found {
		pct = p
	}
	return int64(c), pct, true
}

func faultLabel(route map[string]any, fullAbort bool) string {
	var parts []string
	if d, ok, _ := unstructured.NestedString(route, "fault", "delay", "fixedDelay"); ok {
		pct := 100.0
		if p, found := number(route, "fault", "delay", "percentage", "value"); found {
			pct = p
		}
		parts = append(parts, fmt.Sprintf("delay %s (%g%%)", d, pct))
	}
	if code, pct, ok := abort(route); ok && !fullAbort {
		parts = append(parts, fmt.Sprintf("abort %d (%g%%)", code, pct))
	}
	return strings.Join(parts, ", ")
}

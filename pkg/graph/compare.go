package graph

import (
	"reflect"
	"sort"
)

// Pair is one VirtualService's graph in two revisions: Before (the applied
// one, or a plan's base) and After (the pending, failed or head one). A
// service only one revision has leaves the other nil.
type Pair struct {
	// Namespace and Name of the VirtualService.
	Namespace, Name string
	Before, After   *Graph
}

// Changed reports whether the routing differs between Before and After:
// hosts, versions or rules. The intent and source annotations are not
// routing and do not count; a service added or removed does.
func (p Pair) Changed() bool {
	if p.Before == nil || p.After == nil {
		return p.Before != p.After
	}
	return !SameRouting(*p.Before, *p.After)
}

// SameRouting reports whether a and b route alike: same hosts, versions
// and rules, in the same order (the order of rules decides which matches).
func SameRouting(a, b Graph) bool {
	return reflect.DeepEqual(a.Hosts, b.Hosts) && reflect.DeepEqual(a.Versions, b.Versions) && reflect.DeepEqual(a.Rules, b.Rules)
}

// Compare pairs the graphs of two revisions by namespace and name, sorted
// by namespace and name. Graphs present in both and alike are included
// (Changed is false), so that a caller can show all or only the changes.
func Compare(before, after []Graph) []Pair {
	type key struct{ ns, name string }
	byKey := map[key]*Pair{}
	var out []*Pair
	pair := func(g Graph) *Pair {
		k := key{g.Namespace, g.Name}
		p := byKey[k]
		if p == nil {
			p = &Pair{Namespace: g.Namespace, Name: g.Name}
			byKey[k] = p
			out = append(out, p)
		}
		return p
	}
	for i := range before {
		pair(before[i]).Before = &before[i]
	}
	for i := range after {
		pair(after[i]).After = &after[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	res := make([]Pair, len(out))
	for i, p := range out {
		res[i] = *p
	}
	return res
}

package render

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// locator is the intent.FieldLocator of a kustomize build: it names the
// patch that wrote a field's value when an overlay changed it, so that an
// intent error never points at a line of the base that says something else.
type locator struct {
	lines   *intent.FileLines
	fs      *confinedFS
	patches []patchRef // in the order kustomize applies them

	once   sync.Once
	parsed []parsedPatch // patches[i], parsed on first use
}

var _ intent.FieldLocator = (*locator)(nil)

// parsedPatch is a patch's documents: strategic-merge patches (mappings)
// or JSON 6902 operations (a sequence).
type parsedPatch struct {
	docs []*yaml.Node
	// lineOffset is added to a line of docs: an inline patch's lines count
	// from the line after its key in the kustomization file.
	lineOffset int
}

// treePatches lists the patches of the tree under top in the order
// kustomize applies them: a base's before its overlay's.
func treePatches(top *kustNode) []patchRef {
	var out []patchRef
	var walk func(n *kustNode)
	walk = func(n *kustNode) {
		for _, it := range n.items {
			if it.sub != nil {
				walk(it.sub)
			}
		}
		out = append(out, n.patches...)
	}
	walk(top)
	return out
}

// FieldLine implements intent.LineFinder.
func (l *locator) FieldLine(source string, obj intent.ObjectRef, path intent.Path) int {
	return l.lines.FieldLine(source, obj, path)
}

// LocateField implements intent.FieldLocator: the last patch (in the order
// kustomize applies them) that sets path of obj to the built value, else
// the declaring file's line when it holds that value (or when the field is
// missing from the built object: its closest parent's line), else the
// declaring file without a line, "after overlays".
func (l *locator) LocateField(source string, obj intent.ObjectRef, path intent.Path, value any, found bool) intent.Location {
	if found {
		l.once.Do(l.parse)
		for i := len(l.patches) - 1; i >= 0; i-- {
			if line, ok := l.parsed[i].sets(l.patches[i], obj, path, value); ok {
				return intent.Location{File: l.patches[i].source, Line: line}
			}
		}
	}
	line := l.lines.FieldLine(source, obj, path)
	if !found {
		return intent.Location{File: source, Line: line}
	}
	n := l.lines.FieldNode(source, obj, path)
	if n == nil {
		return intent.Location{File: source, AfterOverlays: true}
	}
	v, err := nodeValue(n)
	if err != nil || covers(v, value) {
		return intent.Location{File: source, Line: line}
	}
	return intent.Location{File: source, AfterOverlays: true}
}

func (l *locator) parse() {
	l.parsed = make([]parsedPatch, len(l.patches))
	for i, p := range l.patches {
		var b []byte
		if p.file != "" {
			var err error
			if b, err = l.fs.readResolved(p.file); err != nil {
				continue
			}
		} else {
			b = []byte(p.inline)
			if strings.Contains(p.inline, "\n") {
				l.parsed[i].lineOffset = p.line
			} else {
				l.parsed[i].lineOffset = p.line - 1
			}
		}
		l.parsed[i].docs, _ = intent.ParseDocuments(b)
	}
}

// sets returns the line (in the patch's file) where patch ref sets path of
// obj to value.
func (pp parsedPatch) sets(ref patchRef, obj intent.ObjectRef, path intent.Path, value any) (int, bool) {
	for i := len(pp.docs) - 1; i >= 0; i-- {
		d := pp.docs[i]
		var n *yaml.Node
		switch d.Kind {
		case yaml.MappingNode:
			if !patchTargets(ref.target, d, obj) {
				continue
			}
			n = intent.NodeAt(d, path)
		case yaml.SequenceNode:
			if ref.target == nil || !patchTargets(ref.target, nil, obj) {
				continue
			}
			n = jsonPatchNode(d, path)
		}
		if n == nil {
			continue
		}
		if v, err := nodeValue(n); err == nil && covers(v, value) {
			return n.Line + pp.lineOffset, true
		}
	}
	return 0, false
}

// patchTargets reports whether a patch applies to obj: its target selector
// when it has one, else its document's kind, name and namespace. Names may
// have gained a prefix or suffix since; label and annotation selectors are
// not checked (the value must match as well, which rules out most
// mistakes).
func patchTargets(target map[string]any, doc *yaml.Node, obj intent.ObjectRef) bool {
	if target != nil {
		kind, _ := target["kind"].(string)
		name, _ := target["name"].(string)
		ns, _ := target["namespace"].(string)
		return (kind == "" || matchesSelector(kind, obj.Kind)) &&
			(name == "" || matchesSelector(name, obj.Name)) &&
			(ns == "" || matchesSelector(ns, obj.Namespace))
	}
	kind := scalarAt(doc, "kind")
	name := scalarAt(doc, "metadata", "name")
	ns := scalarAt(doc, "metadata", "namespace")
	return kind == obj.Kind && name != "" && strings.Contains(obj.Name, name) && (ns == "" || ns == obj.Namespace)
}

// matchesSelector is kustomize's reading of a target field: an anchored
// regular expression.
func matchesSelector(pattern, s string) bool {
	if pattern == s {
		return true
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	return err == nil && re.MatchString(s)
}

func scalarAt(doc *yaml.Node, keys ...any) string {
	n := intent.NodeAt(doc, intent.P(keys...))
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// jsonPatchNode returns the node that the last add or replace operation of
// a JSON 6902 patch covering path writes at path.
func jsonPatchNode(ops *yaml.Node, path intent.Path) *yaml.Node {
	for i := len(ops.Content) - 1; i >= 0; i-- {
		op := ops.Content[i]
		kind := scalarAt(op, "op")
		if kind != "add" && kind != "replace" {
			continue
		}
		segs := strings.Split(strings.TrimPrefix(scalarAt(op, "path"), "/"), "/")
		if len(segs) > len(path) {
			continue
		}
		match := true
		for j, s := range segs {
			s = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
			e := path[j]
			if (e.IsIndex && s != strconv.Itoa(e.Index)) || (!e.IsIndex && s != e.Key) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v := intent.NodeAt(op, intent.P("value"))
		if v == nil {
			continue
		}
		if n := intent.NodeAt(v, path[len(segs):]); n != nil {
			return n
		}
	}
	return nil
}

// covers reports whether a value written in a file (a patch or the
// declaring file) is what was built: equal, or for a map, each of its keys
// covers the built one's (a strategic-merge patch sets some keys of a map).
func covers(written, built any) bool {
	wm, ok := written.(map[string]any)
	if !ok {
		return reflect.DeepEqual(written, built)
	}
	bm, ok := built.(map[string]any)
	if !ok {
		return false
	}
	for k, w := range wm {
		if strings.HasPrefix(k, "$") {
			continue // a directive ($patch, $setElementOrder...), not a field
		}
		b, ok := bm[k]
		if !ok || !covers(w, b) {
			return false
		}
	}
	return true
}

// sources finds, after a render, where the fields of its objects and
// intents are written (see Result.Locate). It is built on first use.
type sources struct {
	loc *locator

	once    sync.Once
	objects map[string]manifest.Object
	intents map[string]intent.Document
}

func newSources(l *locator) *sources { return &sources{loc: l} }

func (s *sources) index(res *Result) {
	s.once.Do(func() {
		s.objects = make(map[string]manifest.Object, len(res.Objects))
		for _, o := range res.Objects {
			s.objects[o.ID()] = o
		}
		s.intents = make(map[string]intent.Document, len(res.Intents))
		for _, d := range res.Intents {
			s.intents[d.ID()] = d
		}
	})
}

// Locate returns where the value of field of the object or intent named
// object (an ID as manifest.Object.ID or intent.Document.ID give it) is
// written in the repository, as policy results name them: field is a path
// such as "spec.http[1].route" or `metadata.labels["istio.io/rev"]`, ""
// for the whole object.
//
// The first location is in the declaring file: for an object generated from
// an intent, the line of the intent's field that produced the object's field
// (the split entry behind the catch-all route's destinations, the rule of
// spec.routes behind an earlier route, spec.service behind the hosts...),
// else the line of the field itself (or of its closest parent present). It
// is AfterOverlays when that file holds another value. The others are the
// overlay patches that set the value, in the order kustomize applies them.
// Locate returns nil for an unknown object; a field it cannot parse is
// located as the whole object.
func (r *Result) Locate(object, field string) []intent.Location {
	if r == nil || r.sources == nil {
		return nil
	}
	s := r.sources
	s.index(r)
	path, err := parseField(field)
	if err != nil {
		path = nil
	}
	if d, ok := s.intents[object]; ok {
		return s.locate(d.Source, docRef(d), d.Raw, []intent.Path{path})
	}
	o, ok := s.objects[object]
	if !ok {
		return nil
	}
	if o.Intent == "" || o.Lazy() {
		ref := intent.ObjectRef{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
		var raw map[string]any
		if !o.Lazy() {
			raw = o.Object
		}
		return s.locate(o.Source, ref, raw, []intent.Path{path})
	}
	d, ok := s.intents[o.Intent]
	if !ok {
		return nil
	}
	return s.locate(d.Source, docRef(d), d.Raw, IntentFields(d, o.GetKind(), path))
}

func docRef(d intent.Document) intent.ObjectRef {
	ref := intent.ObjectRef{Kind: d.Kind(), Line: d.Line}
	if d.NamespaceIntent != nil {
		ref.Name = d.NamespaceIntent.Name
	} else {
		ref.Namespace, ref.Name = d.ServiceIntent.Namespace, d.ServiceIntent.Name
	}
	return ref
}

// locate gives the declaring file's line of each path, then the patches
// that set any of them, without repeats.
func (s *sources) locate(source string, ref intent.ObjectRef, raw map[string]any, paths []intent.Path) []intent.Location {
	var out []intent.Location
	add := func(l intent.Location) {
		if l.File != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	l := s.loc
	for _, p := range paths {
		v, found := rawValue(raw, p)
		loc := intent.Location{File: source, Line: l.lines.FieldLine(source, ref, p)}
		if found && len(l.patches) > 0 {
			if n := l.lines.FieldNode(source, ref, p); n == nil {
				loc.AfterOverlays = true
			} else if w, err := nodeValue(n); err == nil && !covers(w, v) {
				loc.AfterOverlays = true
			}
		}
		add(loc)
	}
	if len(l.patches) == 0 {
		return out
	}
	l.once.Do(l.parse)
	for i := range l.patches {
		for _, p := range paths {
			v, found := rawValue(raw, p)
			if !found {
				continue
			}
			if line, ok := l.parsed[i].sets(l.patches[i], ref, p, v); ok {
				add(intent.Location{File: l.patches[i].source, Line: line})
			}
		}
	}
	return out
}

// rawValue returns the value at path in obj.
func rawValue(obj map[string]any, path intent.Path) (any, bool) {
	var cur any = obj
	if obj == nil {
		return nil, false
	}
	for _, e := range path {
		if e.IsIndex {
			l, ok := cur.([]any)
			if !ok || e.Index < 0 || e.Index >= len(l) {
				return nil, false
			}
			cur = l[e.Index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[e.Key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// parseField reads a field path as policies write it: dotted keys, [i]
// indexes and ["quoted"] keys.
func parseField(s string) (intent.Path, error) {
	var p intent.Path
	for i := 0; i < len(s); {
		switch s[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("field %q: unclosed [", s)
			}
			inner := s[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may hold "]": read the Go string literal.
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", s, err)
				}
				k, _ := strconv.Unquote(q)
				p = append(p, intent.PathElement{Key: k})
				i += 1 + len(q)
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("field %q: unclosed [", s)
				}
				i++
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return nil, fmt.Errorf("field %q: bad index %q", s, inner)
			}
			p = append(p, intent.PathElement{Index: n, IsIndex: true})
			i += end + 1
		default:
			end := strings.IndexAny(s[i:], ".[")
			if end < 0 {
				end = len(s) - i
			}
			p = append(p, intent.PathElement{Key: s[i : i+end]})
			i += end
		}
	}
	return p, nil
}

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

package render

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/expand"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// locator is the intent.FieldLocator of a kustomize build: it names the
// patch that wrote a field's value when an overlay changed it, so that an
// intent error never points at a line of the base that says something else.
type locator struct {
	lines   *intent.FileLines
	fs      *rootfs.Confined
	patches []fastpath.Patch // in the order kustomize applies them

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
func treePatches(top *fastpath.Node) []fastpath.Patch {
	var out []fastpath.Patch
	top.Walk(nil, func(n *fastpath.Node) { out = append(out, n.Patches...) })
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
				return intent.Location{File: l.patches[i].Source, Line: line}
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
	v, err := fastpath.NodeValue(n)
	if err != nil || covers(v, value) {
		return intent.Location{File: source, Line: line}
	}
	return intent.Location{File: source, AfterOverlays: true}
}

func (l *locator) parse() {
	l.parsed = make([]parsedPatch, len(l.patches))
	for i, p := range l.patches {
		var b []byte
		if p.File != "" {
			var err error
			if b, err = l.fs.ReadResolved(p.File); err != nil {
				continue
			}
		} else {
			b = []byte(p.Inline)
			if strings.Contains(p.Inline, "\n") {
				l.parsed[i].lineOffset = p.Line
			} else {
				l.parsed[i].lineOffset = p.Line - 1
			}
		}
		l.parsed[i].docs, _ = intent.ParseDocuments(b)
	}
}

// sets returns the line (in the patch's file) where patch ref sets path of
// obj to value.
func (pp parsedPatch) sets(ref fastpath.Patch, obj intent.ObjectRef, path intent.Path, value any) (int, bool) {
	for i := len(pp.docs) - 1; i >= 0; i-- {
		d := pp.docs[i]
		var n *yaml.Node
		switch d.Kind {
		case yaml.MappingNode:
			if !patchTargets(ref.Target, d, obj) {
				continue
			}
			n = intent.NodeAt(d, path)
		case yaml.SequenceNode:
			if ref.Target == nil || !patchTargets(ref.Target, nil, obj) {
				continue
			}
			n = jsonPatchNode(d, path)
		}
		if n == nil {
			continue
		}
		if v, err := fastpath.NodeValue(n); err == nil && covers(v, value) {
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
	kind := intent.ScalarAt(doc, "kind")
	name := intent.ScalarAt(doc, "metadata", "name")
	ns := intent.ScalarAt(doc, "metadata", "namespace")
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

// jsonPatchNode returns the node that the last add or replace operation of
// a JSON 6902 patch covering path writes at path.
func jsonPatchNode(ops *yaml.Node, path intent.Path) *yaml.Node {
	for i := len(ops.Content) - 1; i >= 0; i-- {
		op := ops.Content[i]
		kind := intent.ScalarAt(op, "op")
		if kind != "add" && kind != "replace" {
			continue
		}
		segs, err := intent.PointerTokens(intent.ScalarAt(op, "path"))
		if err != nil || len(segs) > len(path) {
			continue
		}
		match := true
		for j, s := range segs {
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
	path, err := intent.ParsePath(field)
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
	return s.locate(d.Source, docRef(d), d.Raw, expand.IntentFields(d, o.GetKind(), path))
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
			} else if w, err := fastpath.NodeValue(n); err == nil && !covers(w, v) {
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
				add(intent.Location{File: l.patches[i].Source, Line: line})
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

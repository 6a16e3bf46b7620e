package render

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/intent"
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

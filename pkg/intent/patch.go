package intent

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/jsonvalue"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// ReadDoc is one document of a file a build reads, as written, for
// CheckRead: a resource (a whole intent), a strategic-merge patch of an
// intent (a partial one) or a JSON 6902 patch of an intent (a list of
// operations).
type ReadDoc struct {
	// Source is the repo-relative file holding the document.
	Source string
	// Node is the document's content node; Value its value as a JSON-like
	// tree (map[string]any for an object or a strategic-merge patch,
	// []any for a JSON 6902 patch).
	Node  *yaml.Node
	Value any
	// Patch is true for a patch: fields may be left out and strategic-merge
	// directives ($patch, $retainKeys, $setElementOrder/...) are allowed.
	Patch bool
	// Target is the patch's target selector (kind, namespace, name), when
	// it has one. A JSON 6902 patch is checked only when Target.Kind names an
	// intent kind; a strategic-merge patch without apiVersion and kind takes
	// them from Target.
	Target ObjectRef
	// LineOffset is added to Node's lines and ColumnOffset to its columns:
	// an inline patch's lines count from its key in the kustomization file,
	// its columns from the block's indentation. A negative ColumnOffset
	// means the columns are unknown (errors then have none).
	LineOffset, ColumnOffset int
}

// CheckRead decodes one document strictly as it is written, before any
// overlay merges it, so that a mistake an overlay would hide (a misspelt
// field in a base that an overlay replaces) is still an error. It reports
// unknown fields, wrong types and bad durations, and for a JSON 6902 patch
// a path that is not a field of the intent's schema and a value of the
// wrong type; it leaves to Decode, on the merged object, what only the
// merged object can answer (required fields, weights summing to 100,
// versions named in spec.versions...). A document that is not an intent
// (another apiVersion, an Istio object) is not checked: nil.
//
// Each error names the file, the line and column of the text that is wrong
// and the field's path in the merged object.
func CheckRead(d ReadDoc) ErrorList {
	if d.Node == nil {
		return nil
	}
	switch v := d.Value.(type) {
	case map[string]any:
		return checkObject(d, v)
	case []any:
		if d.Patch {
			return checkJSONPatch(d, v)
		}
	}
	return nil
}

// column shifts a column of Node to the file's, 0 when unknown.
func (d ReadDoc) column(c int) int {
	if d.ColumnOffset < 0 || c <= 0 {
		return 0
	}
	return c + d.ColumnOffset
}

// intentType returns a new value of the intent kind, nil for another kind.
func intentType(kind string) reflect.Value {
	switch kind {
	case v1alpha1.KindServiceIntent:
		return reflect.New(reflect.TypeOf(v1alpha1.ServiceIntent{}))
	case v1alpha1.KindNamespaceIntent:
		return reflect.New(reflect.TypeOf(v1alpha1.NamespaceIntent{}))
	}
	return reflect.Value{}
}

func checkObject(d ReadDoc, raw map[string]any) ErrorList {
	apiVersion, _ := raw["apiVersion"].(string)
	kind, _ := raw["kind"].(string)
	if d.Patch && kind == "" && apiVersion == "" {
		kind = d.Target.Kind
		apiVersion = v1alpha1.APIVersion
	}
	if apiVersion != v1alpha1.APIVersion {
		return nil // another kind, or a wrong apiVersion Decode reports after the merge
	}
	v := intentType(kind)
	if !v.IsValid() {
		return nil
	}
	if d.Patch {
		raw = withoutDirectives(raw).(map[string]any)
	}
	sd := &strictDecoder{}
	sd.decode(raw, v.Elem())

	meta, _ := raw["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if name == "" {
		name = d.Target.Name
	}
	if namespace == "" {
		namespace = d.Target.Namespace
	}
	if kind == v1alpha1.KindNamespaceIntent {
		namespace = ""
	}
	return located(d, kind, namespace, name, sd.errs, func(p Path) *yaml.Node { return d.Node }, 0)
}

// located turns the decoder's errors (other than missing fields) into an
// ErrorList, each at the node of its path under the node root returns for
// it; skip leading elements of the path are not under that node.
func located(d ReadDoc, kind, namespace, name string, errs []*FieldError, root func(Path) *yaml.Node, skip int) ErrorList {
	if name == "" {
		name = "(no name)"
	}
	object := manifest.ObjectID(kind, namespace, name)
	var out ErrorList
	for _, e := range errs {
		if e.Message == "required field missing" {
			continue // the merged object may have it: Decode says
		}
		n := root(e.Path)
		line, col := nodePos(n, e.Path[min(skip, len(e.Path)):], e.Message == "unknown field")
		e.File, e.Object = d.Source, object
		if line > 0 {
			e.Line, e.Column = line+d.LineOffset, d.column(col)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// nodePos returns the line and column of path under n: of the key of its
// last element when key is true (an unknown field), else of its value;
// of the closest parent present when path is not all there.
func nodePos(n *yaml.Node, path Path, key bool) (int, int) {
	n = content(n)
	if n == nil {
		return 0, 0
	}
	line, col := n.Line, n.Column
	for i, e := range path {
		n = content(n)
		if n == nil {
			break
		}
		last := i == len(path)-1
		if e.IsIndex {
			if n.Kind != yaml.SequenceNode || e.Index < 0 || e.Index >= len(n.Content) {
				break
			}
			n = n.Content[e.Index]
			line, col = n.Line, n.Column
			continue
		}
		if n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == e.Key {
				k, v := n.Content[j], n.Content[j+1]
				line, col = k.Line, k.Column
				if last && !key {
					line, col = v.Line, v.Column
				}
				next = v
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line, col
}

// withoutDirectives returns v without the strategic-merge directives
// (keys starting with "$"), which only patches may hold.
func withoutDirectives(v any) any {
	return jsonvalue.Rewrite(v, func(k string) bool { return strings.HasPrefix(k, "$") }, nil)
}

// checkJSONPatch checks each operation of a JSON 6902 patch of an intent:
// its path (and from) against the schema's field names, and its value
// against the type of the field it writes.
func checkJSONPatch(d ReadDoc, ops []any) ErrorList {
	root := intentType(d.Target.Kind)
	if !root.IsValid() {
		return nil
	}
	namespace := d.Target.Namespace
	if d.Target.Kind == v1alpha1.KindNamespaceIntent {
		namespace = ""
	}
	opsNode := content(d.Node)
	if opsNode == nil || opsNode.Kind != yaml.SequenceNode {
		return nil
	}
	var out ErrorList
	for i, raw := range ops {
		op, ok := raw.(map[string]any)
		if !ok || i >= len(opsNode.Content) {
			continue // kustomize says what is wrong with the operation itself
		}
		opNode := content(opsNode.Content[i])
		kind, _ := op["op"].(string)
		for _, key := range []string{"path", "from"} {
			ptr, ok := op[key].(string)
			if !ok {
				continue
			}
			t, path, msg := walkPointer(root.Type().Elem(), ptr)
			if msg == "" {
				if key == "path" && (kind == "add" || kind == "replace" || kind == "test") {
					if val, ok := op["value"]; ok {
						out = append(out, checkValue(d, t, path, val, lookup(opNode, "value"))...)
					}
				}
				continue
			}
			n := lookup(opNode, key)
			e := &FieldError{Path: path, Field: path.String(), Message: msg}
			out = append(out, located(d, d.Target.Kind, namespace, d.Target.Name, []*FieldError{e},
				func(Path) *yaml.Node { return nil }, 0)...)
			if n != nil {
				last := out[len(out)-1]
				last.Line, last.Column = n.Line+d.LineOffset, d.column(n.Column)
			}
		}
	}
	return out
}

// checkValue decodes a JSON 6902 operation's value (node n) strictly as a
// t at path.
func checkValue(d ReadDoc, t reflect.Type, path Path, val any, n *yaml.Node) ErrorList {
	if t == nil {
		return nil
	}
	sd := &strictDecoder{path: append(Path{}, path...)}
	sd.decode(val, reflect.New(t).Elem())
	namespace := d.Target.Namespace
	if d.Target.Kind == v1alpha1.KindNamespaceIntent {
		namespace = ""
	}
	return located(d, d.Target.Kind, namespace, d.Target.Name, sd.errs, func(Path) *yaml.Node { return n }, len(path))
}

// walkPointer follows a JSON pointer through type t. It returns the type at
// the pointer (nil when it leads into a free-form value) and the pointer as
// a Path; msg is not empty when a segment is not in the schema, and path
// then ends at that segment.
func walkPointer(t reflect.Type, ptr string) (reflect.Type, Path, string) {
	segs, err := PointerTokens(ptr)
	if err != nil {
		return nil, nil, "a JSON patch path starts with \"/\""
	}
	if segs == nil {
		return t, nil, ""
	}
	var path Path
	for _, seg := range segs {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == durationType:
			path = append(path, PathElement{Key: seg})
			return nil, path, "not a field: a duration has no fields"
		case t.Kind() == reflect.Struct:
			path = append(path, PathElement{Key: seg})
			f, ok := structInfoOf(t).byName[seg]
			if !ok {
				return nil, path, "unknown field"
			}
			t = t.FieldByIndex(f.index).Type // through inline structs too
		case t.Kind() == reflect.Slice:
			if seg == "-" {
				path = append(path, PathElement{Key: seg})
			} else {
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 {
					path = append(path, PathElement{Key: seg})
					return nil, path, "not a list index: a list's elements are /0, /1... or /- to append"
				}
				path = append(path, PathElement{Index: i, IsIndex: true})
			}
			t = t.Elem()
		case t.Kind() == reflect.Map:
			path = append(path, PathElement{Key: seg})
			t = t.Elem()
		case t.Kind() == reflect.Interface:
			path = append(path, PathElement{Key: seg})
			return nil, path, ""
		default:
			path = append(path, PathElement{Key: seg})
			return nil, path, "not a field: the value above is a " + jsonTypeName(t)
		}
	}
	return t, path, ""
}

// jsonTypeName names a Go leaf type as JSON does.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

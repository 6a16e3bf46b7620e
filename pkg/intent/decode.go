package intent

import (
	"reflect"
	"sort"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// ObjectRef names an object and the document that declares it, for LineFinder.
type ObjectRef struct {
	Kind, Namespace, Name string
	// Line is the 1-based line of the object's document when known, else 0; it
	// tells apart documents that kustomize renamed or that share a name.
	Line int
}

// LineFinder finds where a field is written in the repository.
type LineFinder interface {
	// FieldLine returns the 1-based line of path inside the document of the
	// repo-relative file source that declares obj; when path is not there (it
	// was added by an overlay, or is missing), the line of its closest parent
	// that is; 0 when the document cannot be found.
	FieldLine(source string, obj ObjectRef, path Path) int
}

// FieldLocator is a LineFinder that also knows the files an object was
// built from, the file that declares it and the overlays' patches, so that
// an error names the file whose value failed rather than a line of the
// declaring file that holds another value.
type FieldLocator interface {
	LineFinder
	// LocateField returns where the value of path in obj, as built (value;
	// found is false when the built object has no such field), is written.
	// source is the file that declares obj.
	LocateField(source string, obj ObjectRef, path Path, value any, found bool) Location
}

// Location is where a field's value is written.
type Location struct {
	// File is the repo-relative file; Line its 1-based line there, 0 when
	// unknown.
	File string
	Line int
	// AfterOverlays is true when File declares the object but not this
	// value, which an overlay that could not be found changed (see
	// FieldError.AfterOverlays).
	AfterOverlays bool
}

// Decoder decodes intent documents. The zero value is ready to use and
// reports the document's line for every error.
type Decoder struct {
	// Lines, when set, gives each error the line of its field; when it is
	// also a FieldLocator, the file and line that wrote the field's value.
	Lines LineFinder
}

// Decode is Decoder{}.Decode: errors carry the document's line, not the field's.
func Decode(raw map[string]any, source string, line int) (Document, error) {
	return Decoder{}.Decode(raw, source, line)
}

// Decode turns a kustomize-built intent object into a Document, strictly: an
// unknown field, a wrong type, a bad duration, a missing required field, a
// bad enum value, a bad RE2 regex, a weight outside 0–100 or weights that do
// not sum to 100, a route or split naming a version not in spec.versions, two
// match kinds in one StringMatch... are all errors. Every problem of the
// document is reported, as an ErrorList of *FieldError in line order.
//
// source is the repo-relative file that declared the object, line the 1-based
// line of its document (0 when unknown). raw is kept as Document.Raw and is
// not modified. The one destination of a list that leaves out its weight gets
// 100 minus the others' in the decoded intent. A NamespaceIntent's
// metadata.namespace is ignored.
func (d Decoder) Decode(raw map[string]any, source string, line int) (Document, error) {
	kind, _ := raw["kind"].(string)
	apiVersion, _ := raw["apiVersion"].(string)
	meta, hasMeta := raw["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)

	doc := Document{Source: source, Line: line, Raw: raw}
	sd := &strictDecoder{}
	if apiVersion != v1alpha1.APIVersion {
		sd.path = P("apiVersion")
		sd.fail("unsupported apiVersion %q, want %s", apiVersion, v1alpha1.APIVersion)
		sd.path = nil
	}
	var val *validator
	switch kind {
	case v1alpha1.KindNamespaceIntent:
		doc.NamespaceIntent, val = decodeAs(sd, raw, hasMeta, (*validator).namespaceIntent)
		namespace = ""
	case v1alpha1.KindServiceIntent:
		doc.ServiceIntent, val = decodeAs(sd, raw, hasMeta, (*validator).serviceIntent)
	default:
		sd.path = P("kind")
		sd.fail("unsupported kind %q, want %s or %s", kind, v1alpha1.KindNamespaceIntent, v1alpha1.KindServiceIntent)
		val = newValidator(sd)
	}
	if len(sd.errs) == 0 && len(val.errs) == 0 {
		return doc, nil
	}

	if name == "" {
		name = "(no name)"
	}
	if kind == "" {
		kind = "(no kind)"
	}
	ref := ObjectRef{Kind: kind, Namespace: namespace, Name: name, Line: line}
	object := manifest.ObjectID(kind, namespace, name)
	// The strict decoder walks maps in random order: sort its errors by field.
	sort.SliceStable(sd.errs, func(i, j int) bool { return sd.errs[i].Field < sd.errs[j].Field })
	errs := make(ErrorList, 0, len(sd.errs)+len(val.errs))
	loc, _ := d.Lines.(FieldLocator)
	for _, e := range append(sd.errs, val.errs...) {
		e.File, e.Object, e.Line = source, object, line
		switch {
		case loc != nil:
			v, found := valueAt(raw, e.Path)
			if l := loc.LocateField(source, ref, e.Path, v, found); l.File != "" {
				e.File, e.Line, e.AfterOverlays = l.File, l.Line, l.AfterOverlays
			}
		case d.Lines != nil:
			if l := d.Lines.FieldLine(source, ref, e.Path); l > 0 {
				e.Line = l
			}
		}
		errs = append(errs, e)
	}
	errs.Sort()
	return Document{}, errs
}

// decodeAs decodes raw strictly into a new T and checks it with check,
// returning both the object and the validator that holds the findings.
func decodeAs[T any](sd *strictDecoder, raw any, hasMeta bool, check func(*validator, *T, bool)) (*T, *validator) {
	obj := new(T)
	sd.decode(raw, reflect.ValueOf(obj).Elem())
	val := newValidator(sd)
	check(val, obj, hasMeta)
	return obj, val
}

// valueAt returns the value at path in obj and whether it is there.
func valueAt(obj map[string]any, path Path) (any, bool) {
	var v any = obj
	for _, e := range path {
		switch c := v.(type) {
		case map[string]any:
			if e.IsIndex {
				return nil, false
			}
			var ok bool
			if v, ok = c[e.Key]; !ok {
				return nil, false
			}
		case []any:
			if !e.IsIndex || e.Index < 0 || e.Index >= len(c) {
				return nil, false
			}
			v = c[e.Index]
		default:
			return nil, false
		}
	}
	return v, true
}

package intent

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/jsonvalue"
)

// strictDecoder fills a Go value from a JSON-like tree (map[string]any,
// []any, string, bool, int64, float64, nil) the way encoding/json would, but
// records every unknown field, wrong type, bad duration and missing required
// field with its path instead of stopping at the first pathless error.
//
// A struct field is required when its json tag has no omitempty and is not
// inline; optionalFields lists the exceptions, whose absence is recorded in
// absent instead.
type strictDecoder struct {
	path   Path // the current path; copied only when an error is recorded
	errs   []*FieldError
	absent map[any]bool // pointers to the optional fields left out, e.g. *int32 for a weight
}

var (
	durationType    = reflect.TypeOf(metav1.Duration{})
	unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// optionalFields are fields without omitempty that may still be left out:
// a Destination's weight, which then takes what the others leave of 100.
var optionalFields = map[reflect.Type]map[string]bool{
	reflect.TypeOf(v1alpha1.Destination{}): {"weight": true},
}

func (d *strictDecoder) fail(format string, args ...any) {
	p := make(Path, len(d.path))
	copy(p, d.path)
	d.errs = append(d.errs, &FieldError{Path: p, Field: p.String(), Message: fmt.Sprintf(format, args...)})
}

// expect returns raw as a T; when raw is not one, it records "expected
// what, got <raw's JSON kind>" and returns false.
func expect[T any](d *strictDecoder, raw any, what string) (T, bool) {
	x, ok := raw.(T)
	if !ok {
		d.fail("expected %s, got %s", what, jsonKind(raw))
	}
	return x, ok
}

// integer returns raw as a whole number; when it is not one, it records
// "expected integer, got <raw>".
func (d *strictDecoder) integer(raw any) (int64, bool) {
	n, ok := jsonvalue.Int(raw)
	if !ok {
		d.fail("expected integer, got %s", describe(raw))
	}
	return n, ok
}

func (d *strictDecoder) push(e PathElement) { d.path = append(d.path, e) }
func (d *strictDecoder) pop()               { d.path = d.path[:len(d.path)-1] }

// decode fills v (settable) from raw.
func (d *strictDecoder) decode(raw any, v reflect.Value) {
	t := v.Type()
	if raw == nil {
		// null is the zero value, as with encoding/json.
		v.Set(reflect.Zero(t))
		return
	}
	switch {
	case t == durationType:
		s, ok := expect[string](d, raw, `duration string such as "500ms" or "2s"`)
		if !ok {
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.fail("invalid duration %q: use a number and a unit such as \"500ms\", \"2s\" or \"1m30s\"", s)
			return
		}
		v.Set(reflect.ValueOf(metav1.Duration{Duration: dur}))
		return
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(raw, v.Elem())
		return
	case t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType) && t.Kind() == reflect.Struct:
		// metav1.Time, FieldsV1 and the like know their own JSON form.
		b, err := json.Marshal(raw)
		if err == nil {
			err = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b)
		}
		if err != nil {
			d.fail("invalid value: %v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(raw, v)
	case reflect.Map:
		m, ok := expect[map[string]any](d, raw, "object")
		if !ok {
			return
		}
		if t.Key().Kind() != reflect.String {
			d.fail("cannot decode into %s", t)
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, raw := range m { // errors are sorted afterwards
			d.push(PathElement{Key: k})
			ev := reflect.New(t.Elem()).Elem()
			d.decode(raw, ev)
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
			d.pop()
		}
		v.Set(out)
	case reflect.Slice:
		s, ok := expect[[]any](d, raw, "array")
		if !ok {
			return
		}
		out := reflect.MakeSlice(t, len(s), len(s))
		for i, e := range s {
			d.push(PathElement{Index: i, IsIndex: true})
			d.decode(e, out.Index(i))
			d.pop()
		}
		v.Set(out)
	case reflect.String:
		if s, ok := expect[string](d, raw, "string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if b, ok := expect[bool](d, raw, "boolean"); ok {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := d.integer(raw)
		if !ok {
			return
		}
		if v.OverflowInt(n) {
			d.fail("%d is out of range for a %d-bit integer", n, t.Bits())
			return
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := d.integer(raw)
		if !ok {
			return
		}
		if n < 0 || v.OverflowUint(uint64(n)) {
			d.fail("%d is out of range for an unsigned %d-bit integer", n, t.Bits())
			return
		}
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, ok := jsonvalue.Float(raw)
		if !ok {
			d.fail("expected number, got %s", jsonKind(raw))
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		v.Set(reflect.ValueOf(raw))
	default:
		d.fail("cannot decode into %s", t)
	}
}

func (d *strictDecoder) decodeStruct(raw any, v reflect.Value) {
	m, ok := expect[map[string]any](d, raw, "object")
	if !ok {
		return
	}
	info := structInfoOf(v.Type())
	for k, raw := range m { // errors are sorted afterwards
		d.push(PathElement{Key: k})
		f, ok := info.byName[k]
		if !ok {
			d.fail("unknown field")
		} else {
			d.decode(raw, fieldByIndex(v, f.index))
		}
		d.pop()
	}
	for _, f := range info.fields {
		if !f.required {
			continue
		}
		if val, ok := m[f.name]; ok && val != nil {
			continue
		}
		if f.optional {
			if d.absent == nil {
				d.absent = map[any]bool{}
			}
			d.absent[fieldByIndex(v, f.index).Addr().Interface()] = true
			continue
		}
		d.push(PathElement{Key: f.name})
		d.fail("required field missing")
		d.pop()
	}
}

// fieldByIndex is v.FieldByIndex, allocating nil embedded pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

type fieldInfo struct {
	name     string
	index    []int
	required bool
	optional bool // required by its tag but listed in optionalFields
}

type structInfo struct {
	fields []*fieldInfo
	byName map[string]*fieldInfo
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]*fieldInfo{}}
	collectFields(t, nil, si)
	structInfos.Store(t, si)
	return si
}

// collectFields adds t's JSON fields to si, flattening inline and untagged
// embedded structs like encoding/json does (outer fields win).
func collectFields(t reflect.Type, index []int, si *structInfo) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int{}, index...), i)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		inline := strings.Contains(","+opts+",", ",inline,") || (sf.Anonymous && name == "")
		if inline && ft.Kind() == reflect.Struct {
			collectFields(ft, idx, si)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := si.byName[name]; dup {
			continue
		}
		f := &fieldInfo{name: name, index: idx, required: !strings.Contains(","+opts+",", ",omitempty,")}
		if f.required && optionalFields[t][name] {
			f.optional = true
		}
		si.fields = append(si.fields, f)
		si.byName[name] = f
	}
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(raw any) string {
	switch raw.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, int, int32, float64, json.Number:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", raw)
}

// describe is jsonKind, with the value for numbers (so "got 1.5" says why an
// integer was refused).
func describe(raw any) string {
	if _, ok := jsonvalue.Float(raw); ok {
		return fmt.Sprintf("%v", raw)
	}
	return jsonKind(raw)
}

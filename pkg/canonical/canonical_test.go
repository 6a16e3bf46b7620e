package canonical_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/pkg/canonical"
)

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := canonical.Append(nil, v)
	if err != nil {
		t.Fatalf("Append(%#v): %v", v, err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"true", true},
		{"false", false},
		{"empty string", ""},
		{"unicode string", "ünïcødé ✓"},
		{"int64", int64(-1234567890123)},
		{"int64 max", int64(math.MaxInt64)},
		{"float64", 0.1},
		{"float64 whole", float64(3)},
		{"json.Number", json.Number("12.50")},
		{"empty list", []any{}},
		{"empty map", map[string]any{}},
		{"virtual service", map[string]any{
			"apiVersion": "networking.istio.io/v1",
			"kind":       "VirtualService",
			"metadata":   map[string]any{"name": "reviews", "labels": map[string]any{"app": "reviews"}},
			"spec": map[string]any{"http": []any{map[string]any{
				"route": []any{
					map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": int64(90)},
					map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": int64(10)},
				},
				"fault":   map[string]any{"delay": map[string]any{"percentage": map[string]any{"value": 0.5}}},
				"mirror":  nil,
				"enabled": true,
			}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonical.Decode(encode(t, tt.v))
			if err != nil {
				t.Fatal(err)
			}
			// DeepEqual tells int64(3) from float64(3): types must survive.
			if !reflect.DeepEqual(got, tt.v) {
				t.Errorf("round trip = %#v, want %#v", got, tt.v)
			}
		})
	}
}

// TestDistinct checks that values a digest must tell apart encode
// differently.
func TestDistinct(t *testing.T) {
	pairs := []struct{ a, b any }{
		{int64(1), float64(1)},
		{int64(1), "1"},
		{"1", json.Number("1")},
		{nil, ""},
		{false, nil},
		{[]any{"ab"}, []any{"a", "b"}},
		{map[string]any{"a": "b"}, map[string]any{"ab": ""}},
		{map[string]any{"a": []any{}}, map[string]any{"a": map[string]any{}}},
		{[]any{[]any{}, []any{"x"}}, []any{[]any{"x"}, []any{}}},
		{map[string]any{"a": nil}, map[string]any{}},
	}
	for _, p := range pairs {
		if bytes.Equal(encode(t, p.a), encode(t, p.b)) {
			t.Errorf("%#v and %#v encode the same", p.a, p.b)
		}
	}
}

func TestDeterministic(t *testing.T) {
	keys := strings.Split("zeta alpha mu beta omega gamma", " ")
	var first []byte
	for i := range 20 {
		m := map[string]any{}
		for j := range keys {
			k := keys[(i+j)%len(keys)]
			m[k] = map[string]any{k: int64(j % 3), "x": k}
		}
		// The same content whatever the insertion order.
		for _, k := range keys {
			m[k].(map[string]any)[k] = int64(len(k))
		}
		b := encode(t, m)
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := canonical.Append(nil, map[string]any{"spec": map[string]any{"replicas": 3}}); err == nil ||
		!strings.Contains(err.Error(), "spec: replicas: int is not JSON content") {
		t.Errorf("Append of an int = %v, want an error naming the path and type", err)
	}
	good := encode(t, map[string]any{"a": []any{"x", int64(7), 1.5}})
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown tag", []byte("?")},
		{"truncated", good[:len(good)-3]},
		{"trailing", append(append([]byte{}, good...), 'n')},
		{"huge length", []byte{'l', 0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		if _, err := canonical.Decode(tt.b); err == nil {
			t.Errorf("%s: Decode succeeded", tt.name)
		}
	}
}

// FuzzDecode checks that no input panics, and that what decodes encodes to
// bytes that decode to the same value.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{nil, "x", int64(-3), 2.5, []any{true, false}, map[string]any{"k": []any{nil}}} {
		b, _ := canonical.Append(nil, v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := canonical.Decode(b)
		if err != nil {
			return
		}
		again, err := canonical.Decode(encode(t, v))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, v) && !hasNaN(v) {
			t.Fatalf("re-encoding changed %#v into %#v", v, again)
		}
	})
}

func hasNaN(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v)
	case []any:
		for _, e := range v {
			if hasNaN(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}

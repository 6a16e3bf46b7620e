package jsonvalue_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/jsonvalue"
)

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       any
		wantInt int64
		isInt   bool
		wantF   float64
		isFloat bool
	}{
		{"an int from YAML", 3, 3, true, 3, true},
		{"an int32", int32(-7), -7, true, -7, true},
		{"an int64 from JSON", int64(1) << 60, 1 << 60, true, 1 << 60, true},
		{"a whole float64", 90.0, 90, true, 90, true},
		{"a float64 with a fraction is no int", 12.5, 0, false, 12.5, true},
		{"a float64 beyond int64 is no int", 1e19, 0, false, 1e19, true},
		{"a NaN is no int", math.NaN(), 0, false, math.NaN(), true},
		{"a float32", float32(0.5), 0, false, 0.5, true},
		{"an integer json.Number", json.Number("42"), 42, true, 42, true},
		{"a decimal json.Number is no int", json.Number("4.2"), 0, false, 4.2, true},
		{"a malformed json.Number is no number", json.Number("x"), 0, false, 0, false},
		{"a string is no number", "42", 0, false, 0, false},
		{"a bool is no number", true, 0, false, 0, false},
		{"nil is no number", nil, 0, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if i, ok := jsonvalue.Int(tc.v); i != tc.wantInt || ok != tc.isInt {
				t.Errorf("Int(%#v) = %d, %t; want %d, %t", tc.v, i, ok, tc.wantInt, tc.isInt)
			}
			f, ok := jsonvalue.Float(tc.v)
			if ok != tc.isFloat || (f != tc.wantF && !(math.IsNaN(f) && math.IsNaN(tc.wantF))) {
				t.Errorf("Float(%#v) = %g, %t; want %g, %t", tc.v, f, ok, tc.wantF, tc.isFloat)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	v := map[string]any{
		"spec": map[string]any{
			"$patch": "replace",
			"http":   []any{map[string]any{"weight": int64(90), "name": "a"}, nil},
		},
		"count": 3,
	}
	directive := func(k string) bool { return strings.HasPrefix(k, "$") }
	toFloat := func(x any) any {
		if f, ok := jsonvalue.Float(x); ok {
			return f
		}
		return x
	}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{{
		name: "a copy is equal",
		got:  jsonvalue.Copy(v),
		want: v,
	}, {
		name: "drop leaves out the keys it reports, at any depth",
		got:  jsonvalue.Rewrite(v, directive, nil),
		want: map[string]any{
			"spec":  map[string]any{"http": []any{map[string]any{"weight": int64(90), "name": "a"}, nil}},
			"count": 3,
		},
	}, {
		name: "leaf replaces every scalar, in maps and in lists",
		got:  jsonvalue.Rewrite(v, nil, toFloat),
		want: map[string]any{
			"spec": map[string]any{
				"$patch": "replace",
				"http":   []any{map[string]any{"weight": 90.0, "name": "a"}, nil},
			},
			"count": 3.0,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("writing into a copy leaves the original alone", func(t *testing.T) {
		c := jsonvalue.Copy(v).(map[string]any)
		spec := c["spec"].(map[string]any)
		spec["$patch"] = "merge"
		spec["http"].([]any)[0].(map[string]any)["weight"] = int64(10)
		if got := v["spec"].(map[string]any)["$patch"]; got != "replace" {
			t.Errorf("original $patch = %v after writing the copy", got)
		}
		if got := v["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["weight"]; got != int64(90) {
			t.Errorf("original weight = %v after writing the copy", got)
		}
	})
}

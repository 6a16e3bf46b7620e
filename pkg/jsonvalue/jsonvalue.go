// Package jsonvalue reads and copies decoded JSON values as unstructured
// Kubernetes objects and YAML decoders hold them: maps, lists, strings,
// bools, nil and numbers of whichever Go type the decoder chose (int64 or
// float64 from JSON, int from YAML, json.Number with UseNumber).
package jsonvalue

import (
	"encoding/json"
	"math"
)

// Int returns the value of a JSON number that is a whole number: an int,
// int32 or int64, a float64 without a fraction that fits an int64, or a
// json.Number written as an integer. Any other value gives false.
func Int(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt64 && n <= math.MaxInt64 {
			return int64(n), true
		}
		return 0, false
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return integer(v)
}

// Float returns the value of a JSON number of any Go number type a decoder
// gives (int, int32, int64, float32, float64, json.Number), so that 1 from
// YAML and 1.0 from JSON compare equal. Any other value gives false.
func Float(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	i, ok := integer(v)
	return float64(i), ok
}

// integer returns the value of a Go integer type a decoder gives.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

// Rewrite returns a copy of v in which every map and list is new, all the
// way down, so that writing into the copy never changes v. Map entries whose
// key drop reports are left out (a nil drop keeps them all), and every other
// value (string, number, bool, nil) is replaced by leaf(value) (a nil leaf
// keeps it as it is).
func Rewrite(v any, drop func(key string) bool, leaf func(any) any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if drop != nil && drop(k) {
				continue
			}
			out[k] = Rewrite(e, drop, leaf)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Rewrite(e, drop, leaf)
		}
		return out
	}
	if leaf != nil {
		return leaf(v)
	}
	return v
}

// Copy returns a deep copy of v: its maps and lists are new, all the way
// down.
func Copy(v any) any { return Rewrite(v, nil, nil) }

// Package canonical encodes the content of unstructured Kubernetes objects
// (the JSON values unstructured.Unstructured holds: maps, lists, strings,
// int64, float64, bool, json.Number and nil) in a compact binary form that
// is exact and deterministic:
//
//   - exact: Decode gives back the same types and values, so a decoded
//     object is a deep copy of the encoded one;
//   - deterministic: map keys are written sorted, so equal values give equal
//     bytes, fit for digests;
//   - unambiguous: every value is tagged with its type and strings and
//     collections carry their length, so different values never give equal
//     bytes.
//
// It stands in for encoding/json where that is too slow (digesting thousands
// of objects per no-op apply) or too large in memory (caching builds in a
// long-running controller: the encoding is about a tenth of the map form).
package canonical

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Type tags.
const (
	tagNil    = 'n'
	tagTrue   = 'T'
	tagFalse  = 'F'
	tagString = 's'
	tagInt    = 'i'
	tagFloat  = 'f'
	tagNumber = 'N' // json.Number, kept as its text
	tagList   = 'l'
	tagMap    = 'm'
)

// Append appends the encoding of v to b. It fails on a type that is not
// JSON content.
func Append(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case string:
		return appendString(append(b, tagString), v), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), v), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), nil
	case json.Number:
		return appendString(append(b, tagNumber), string(v)), nil
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(v)))
		var err error
		for _, e := range v {
			if b, err = Append(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(v)))
		// Objects' maps are small: their keys are sorted on the stack.
		var small [16]string
		keys := small[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var err error
		for _, k := range keys {
			b = appendString(b, k)
			if b, err = Append(b, v[k]); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%T is not JSON content", v)
	}
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// errTruncated is returned for input that ends inside a value.
var errTruncated = errors.New("canonical: truncated input")

// Decode returns the value b encodes. It fails on input Append did not
// write, including trailing bytes.
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if len(d.b) > 0 {
		return nil, fmt.Errorf("canonical: %d trailing bytes", len(d.b))
	}
	return v, nil
}

type decoder struct{ b []byte }

func (d *decoder) value() (any, error) {
	if len(d.b) == 0 {
		return nil, errTruncated
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil:
		return nil, nil
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagString:
		return d.string()
	case tagNumber:
		s, err := d.string()
		return json.Number(s), err
	case tagInt:
		v, n := binary.Varint(d.b)
		if n <= 0 {
			return nil, errTruncated
		}
		d.b = d.b[n:]
		return v, nil
	case tagFloat:
		if len(d.b) < 8 {
			return nil, errTruncated
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return v, nil
	case tagList:
		n, err := d.length()
		if err != nil {
			return nil, err
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(); err != nil {
				return nil, err
			}
		}
		return l, nil
	case tagMap:
		n, err := d.length()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, n)
		for range n {
			k, err := d.string()
			if err != nil {
				return nil, err
			}
			if m[k], err = d.value(); err != nil {
				return nil, err
			}
		}
		return m, nil
	default:
		return nil, fmt.Errorf("canonical: unknown tag %q", tag)
	}
}

// length reads a collection length, which cannot exceed the bytes left (each
// element takes at least one).
func (d *decoder) length() (int, error) {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, errTruncated
	}
	d.b = d.b[k:]
	if n > uint64(len(d.b)) {
		return 0, errTruncated
	}
	return int(n), nil
}

func (d *decoder) string() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s, nil
}

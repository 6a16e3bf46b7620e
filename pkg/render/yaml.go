package render

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// errExotic marks YAML that the fast path leaves to kustomize because
// kustomize may treat it differently from a plain reading: aliases, merge
// keys, custom tags, non-string keys, binary, NaN and infinities.
var errExotic = errors.New("YAML feature left to kustomize")

// nodeValue converts a parsed YAML node into the JSON-like values of
// unstructured.Unstructured: map[string]any, []any, string, bool, int64,
// float64 and nil. Scalars are read as yaml.v3 resolves them (YAML 1.2 core
// schema, the reading kustomize's kyaml uses), so "yes" stays a string, and
// numbers as kustomize's JSON round trip leaves them: a float with an
// integral value (1.0, 1e3) becomes an integer.
func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.MappingNode:
		if n.Tag != "" && n.Tag != "!!map" {
			return nil, fmt.Errorf("%w: tag %s", errExotic, n.Tag)
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				if k.ShortTag() == "!!merge" {
					return nil, fmt.Errorf("%w: line %d: merge key", errExotic, k.Line)
				}
				return nil, fmt.Errorf("%w: line %d: non-string key", errExotic, k.Line)
			}
			if _, dup := m[k.Value]; dup {
				// kustomize refuses these too (when it writes its output).
				return nil, fmt.Errorf("line %d: mapping key %q already defined", k.Line, k.Value)
			}
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		if n.Tag != "" && n.Tag != "!!seq" {
			return nil, fmt.Errorf("%w: tag %s", errExotic, n.Tag)
		}
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.AliasNode:
		return nil, fmt.Errorf("%w: line %d: alias *%s", errExotic, n.Line, n.Value)
	}
	return nil, fmt.Errorf("%w: line %d: node kind %d", errExotic, n.Line, n.Kind)
}

func scalarValue(n *yaml.Node) (any, error) {
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return n.Value, nil
	case "!!timestamp":
		// kustomize rewrites these in RFC 3339 through its JSON round trip.
		return nil, fmt.Errorf("%w: line %d: timestamp %s", errExotic, n.Line, n.Value)
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("%w: line %d: integer %s: %v", errExotic, n.Line, n.Value, err)
		}
		return i, nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("%w: line %d: number %s: %v", errExotic, n.Line, n.Value, err)
			}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: line %d: %s is not a JSON number", errExotic, n.Line, n.Value)
		}
		if f == math.Trunc(f) {
			// kustomize's JSON round trip writes 1.0 and 1e3 as 1 and 1000,
			// which read back as integers.
			if math.Abs(f) > 1<<53 {
				return nil, fmt.Errorf("%w: line %d: large number %s", errExotic, n.Line, n.Value)
			}
			return int64(f), nil
		}
		return f, nil
	default:
		return nil, fmt.Errorf("%w: line %d: tag %s", errExotic, n.Line, tag)
	}
}

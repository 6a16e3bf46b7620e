package fastpath

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// ErrExotic marks YAML that the fast path leaves to kustomize because
// kustomize may treat it differently from a plain reading: aliases, merge
// keys, custom tags, non-string keys, binary, NaN and infinities.
var ErrExotic = errors.New("YAML feature left to kustomize")

// ValueError is a problem with one value of a YAML document: its 1-based
// line, its field (collected on the way out of Value) and what is wrong.
type ValueError struct {
	Line int
	Path intent.Path
	Msg  string
}

func (e *ValueError) Error() string {
	if len(e.Path) == 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, rootfs.ShortPath(e.Path), e.Msg)
}

// At formats the error for source, as "source:line: field: message".
func (e *ValueError) At(source string) string {
	if len(e.Path) == 0 {
		return fmt.Sprintf("%s:%d: %s", source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", source, e.Line, rootfs.ShortPath(e.Path), e.Msg)
}

// prepend records that the error lies under key (a string) or index (an int).
func (e *ValueError) prepend(elem any) {
	e.Path = append(intent.P(elem), e.Path...)
}

// wrapValueError adds elem to the path of a ValueError, returning other
// errors as they are.
func wrapValueError(err error, elem any) error {
	var ve *ValueError
	if errors.As(err, &ve) {
		ve.prepend(elem)
	}
	return err
}

// NodeValue converts a parsed YAML node into the JSON-like values of
// unstructured.Unstructured: map[string]any, []any, string, bool, int64,
// float64 and nil, exactly as kustomize leaves them: kustomize decodes
// scalars with yaml.v3 (YAML 1.2 core schema plus yaml.v3's own readings,
// so "yes" and "1:20" stay strings while "010" is octal 8, "0o17" 15,
// "0x1F" 31 and "1_000" 1000) and then takes the objects through JSON, so a
// float with an integral value (1.0, 1e3) becomes an integer.
//
// Maps and lists nested deeper than yamlguard.DefaultMaxDepth (see Value
// for another limit), and numbers that do not
// survive that JSON round trip (integers beyond int64, integral floats of
// 1e21 and more) are a *ValueError naming the line and field; so is a
// duplicate key. Input kustomize may treat otherwise is ErrExotic.
func NodeValue(n *yaml.Node) (any, error) {
	return value(n, 0, yamlguard.DefaultMaxDepth)
}

// Value is NodeValue under the depth limit maxDepth.
func Value(n *yaml.Node, maxDepth int) (any, error) {
	return value(n, 0, maxDepth)
}

// CheckDepth returns a *ValueError when maps and lists nest deeper than
// maxDepth under n, for documents that Value does not read through
// (ErrExotic).
func CheckDepth(n *yaml.Node, maxDepth int) error {
	return checkDepth(n, 0, maxDepth)
}

func value(n *yaml.Node, depth, maxDepth int) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, nil
		}
		return value(n.Content[0], depth, maxDepth)
	case yaml.MappingNode:
		if depth++; depth > maxDepth {
			return nil, tooDeep(n, maxDepth)
		}
		if n.Tag != "" && n.Tag != "!!map" {
			return nil, fmt.Errorf("%w: tag %s", ErrExotic, n.Tag)
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				if k.ShortTag() == "!!merge" {
					return nil, fmt.Errorf("%w: line %d: merge key", ErrExotic, k.Line)
				}
				return nil, fmt.Errorf("%w: line %d: non-string key", ErrExotic, k.Line)
			}
			if _, dup := m[k.Value]; dup {
				// kustomize refuses these too (when it writes its output).
				return nil, &ValueError{Line: k.Line, Msg: fmt.Sprintf("mapping key %q already defined", k.Value)}
			}
			v, err := value(n.Content[i+1], depth, maxDepth)
			if err != nil {
				return nil, wrapValueError(err, k.Value)
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		if depth++; depth > maxDepth {
			return nil, tooDeep(n, maxDepth)
		}
		if n.Tag != "" && n.Tag != "!!seq" {
			return nil, fmt.Errorf("%w: tag %s", ErrExotic, n.Tag)
		}
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := value(c, depth, maxDepth)
			if err != nil {
				return nil, wrapValueError(err, i)
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.AliasNode:
		return nil, fmt.Errorf("%w: line %d: alias *%s", ErrExotic, n.Line, n.Value)
	}
	return nil, fmt.Errorf("%w: line %d: node kind %d", ErrExotic, n.Line, n.Kind)
}

func tooDeep(n *yaml.Node, maxDepth int) error {
	return &ValueError{Line: n.Line, Msg: fmt.Sprintf("maps and lists nest more than %d levels deep (depth limit; set with --max-yaml-depth)", maxDepth)}
}

// checkDepth returns a *ValueError when maps and lists nest deeper than
// maxDepth under n, for documents that value does not read through.
func checkDepth(n *yaml.Node, depth, maxDepth int) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkDepth(c, depth, maxDepth); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		if depth++; depth > maxDepth {
			return tooDeep(n, maxDepth)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkDepth(n.Content[i+1], depth, maxDepth); err != nil {
				return wrapValueError(err, n.Content[i].Value)
			}
		}
	case yaml.SequenceNode:
		if depth++; depth > maxDepth {
			return tooDeep(n, maxDepth)
		}
		for i, c := range n.Content {
			if err := checkDepth(c, depth, maxDepth); err != nil {
				return wrapValueError(err, i)
			}
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) (any, error) {
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return n.Value, nil
	case "!!timestamp":
		// kustomize rewrites these in RFC 3339 through its JSON round trip.
		return nil, fmt.Errorf("%w: line %d: timestamp %s", ErrExotic, n.Line, n.Value)
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
		if plainDecimal(n.Value) {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, nil
			}
		}
		// Any other form (a leading zero, which yaml.v3 reads as octal,
		// 0o, 0x, 0b, underscores, or a number too large) as yaml.v3
		// reads it for kustomize.
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: line %d: integer %q", ErrExotic, n.Line, n.Value)
		}
		switch v := v.(type) {
		case int:
			return int64(v), nil
		case int64:
			return v, nil
		case uint64:
			return nil, tooLarge(n)
		case float64:
			return floatValue(n, v)
		}
		return nil, fmt.Errorf("%w: line %d: integer %q read as %T", ErrExotic, n.Line, n.Value, v)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("%w: line %d: number %q", ErrExotic, n.Line, n.Value)
			}
		}
		return floatValue(n, f)
	default:
		return nil, fmt.Errorf("%w: line %d: tag %s", ErrExotic, n.Line, tag)
	}
}

// floatValue is f as kustomize's JSON round trip leaves it: encoding/json
// writes an integral float below 1e21 as its shortest decimal digits, which
// read back as an integer (1e3 is 1000; 2^60 is 1152921504606847000) when it
// fits in int64.
func floatValue(n *yaml.Node, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: line %d: %s is not a JSON number", ErrExotic, n.Line, n.Value)
	}
	if f != math.Trunc(f) {
		return f, nil
	}
	if math.Abs(f) <= 1<<53 {
		return int64(f), nil
	}
	if math.Abs(f) < 1e21 {
		if i, err := strconv.ParseInt(strconv.FormatFloat(f, 'f', -1, 64), 10, 64); err == nil {
			return i, nil
		}
	}
	return nil, tooLarge(n)
}

func tooLarge(n *yaml.Node) error {
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return &ValueError{Line: n.Line, Msg: fmt.Sprintf("number %q is too large: a whole number must fit in 64 bits", v)}
}

// plainDecimal reports a decimal integer that yaml.v3 and strconv read
// alike: an optional sign and digits without a leading zero.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

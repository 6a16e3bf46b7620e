package render

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// errExotic marks YAML that the fast path leaves to kustomize because
// kustomize may treat it differently from a plain reading: aliases, merge
// keys, custom tags, non-string keys, binary, NaN and infinities.
var errExotic = errors.New("YAML feature left to kustomize")

// Default limits on every file a render reads, checked before kustomize
// sees it (Options.Limits sets them; see yamlguard.Limits for the others):
// kustomize copies deep structures over and over (10k nested maps take it
// half a minute, under its global lock) and its errors then quote the whole
// object. Istio objects and intents never nest beyond a dozen levels.
const (
	// MaxFileSize is the largest file a render reads by default: 4 MiB,
	// more than twice the largest object the API server stores.
	MaxFileSize = yamlguard.DefaultMaxFileSize
	// MaxDepth is how deeply maps and lists may nest in a YAML document,
	// by default.
	MaxDepth = yamlguard.DefaultMaxDepth
)

// Limits bound the YAML a render reads: see yamlguard.Limits.
type Limits = yamlguard.Limits

// valueError is a problem with one value of a YAML document: its 1-based
// line, its field (collected on the way out of nodeValue) and what is wrong.
type valueError struct {
	line int
	path intent.Path
	msg  string
}

func (e *valueError) Error() string {
	if len(e.path) == 0 {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.line, shortPath(e.path), e.msg)
}

// at formats the error for source, as "source:line: field: message".
func (e *valueError) at(source string) string {
	if len(e.path) == 0 {
		return fmt.Sprintf("%s:%d: %s", source, e.line, e.msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", source, e.line, shortPath(e.path), e.msg)
}

// shortPath prints a path, cut after its first 8 elements (a path that is
// too deep would make the error line as long as the document).
func shortPath(p intent.Path) string {
	if len(p) > 8 {
		return p[:8].String() + "…"
	}
	return p.String()
}

// prepend records that the error lies under key (a string) or index (an int).
func (e *valueError) prepend(elem any) {
	e.path = append(intent.P(elem), e.path...)
}

// wrapValueError adds elem to the path of a valueError, returning other
// errors as they are.
func wrapValueError(err error, elem any) error {
	var ve *valueError
	if errors.As(err, &ve) {
		ve.prepend(elem)
	}
	return err
}

// nodeValue converts a parsed YAML node into the JSON-like values of
// unstructured.Unstructured: map[string]any, []any, string, bool, int64,
// float64 and nil, exactly as kustomize leaves them: kustomize decodes
// scalars with yaml.v3 (YAML 1.2 core schema plus yaml.v3's own readings,
// so "yes" and "1:20" stay strings while "010" is octal 8, "0o17" 15,
// "0x1F" 31 and "1_000" 1000) and then takes the objects through JSON, so a
// float with an integral value (1.0, 1e3) becomes an integer.
//
// Maps and lists nested deeper than MaxDepth (see renderer.nodeValue for
// the render's own limit), and numbers that do not
// survive that JSON round trip (integers beyond int64, integral floats of
// 1e21 and more) are a *valueError naming the line and field; so is a
// duplicate key. Input kustomize may treat otherwise is errExotic.
func nodeValue(n *yaml.Node) (any, error) {
	return value(n, 0, MaxDepth)
}

// nodeValue is nodeValue under the render's depth limit.
func (r *renderer) nodeValue(n *yaml.Node) (any, error) {
	return value(n, 0, r.fs.maxDepth())
}

// checkDepth is checkDepth under the render's depth limit.
func (r *renderer) checkDepth(n *yaml.Node) error {
	return checkDepth(n, 0, r.fs.maxDepth())
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
				return nil, &valueError{line: k.Line, msg: fmt.Sprintf("mapping key %q already defined", k.Value)}
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
			return nil, fmt.Errorf("%w: tag %s", errExotic, n.Tag)
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
		return nil, fmt.Errorf("%w: line %d: alias *%s", errExotic, n.Line, n.Value)
	}
	return nil, fmt.Errorf("%w: line %d: node kind %d", errExotic, n.Line, n.Kind)
}

func tooDeep(n *yaml.Node, maxDepth int) error {
	return &valueError{line: n.Line, msg: fmt.Sprintf("maps and lists nest more than %d levels deep (depth limit; set with --max-yaml-depth)", maxDepth)}
}

// checkDepth returns a *valueError when maps and lists nest deeper than
// maxDepth under n, for documents that nodeValue does not read through.
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
			return nil, fmt.Errorf("%w: line %d: integer %q", errExotic, n.Line, n.Value)
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
		return nil, fmt.Errorf("%w: line %d: integer %q read as %T", errExotic, n.Line, n.Value, v)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("%w: line %d: number %q", errExotic, n.Line, n.Value)
			}
		}
		return floatValue(n, f)
	default:
		return nil, fmt.Errorf("%w: line %d: tag %s", errExotic, n.Line, tag)
	}
}

// floatValue is f as kustomize's JSON round trip leaves it: encoding/json
// writes an integral float below 1e21 as its shortest decimal digits, which
// read back as an integer (1e3 is 1000; 2^60 is 1152921504606847000) when it
// fits in int64.
func floatValue(n *yaml.Node, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: line %d: %s is not a JSON number", errExotic, n.Line, n.Value)
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
	return &valueError{line: n.Line, msg: fmt.Sprintf("number %q is too large: a whole number must fit in 64 bits", v)}
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

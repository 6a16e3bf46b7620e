package intent

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePath reads a field path as Path.String writes it and policies name
// fields: dotted keys, [i] indexes and ["quoted"] keys (a Go string
// literal, which may hold "." or "]"), with or without a leading dot:
// spec.http[1].route, metadata.labels["istio.io/rev"], .spec.hosts[0].
// The empty string is the empty path.
func ParsePath(s string) (Path, error) {
	var p Path
	for i := 0; i < len(s); {
		switch s[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("field %q: unclosed [", s)
			}
			inner := s[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may hold "]": read the Go string literal.
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", s, err)
				}
				k, _ := strconv.Unquote(q)
				p = append(p, PathElement{Key: k})
				i += 1 + len(q)
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("field %q: unclosed [", s)
				}
				i++
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return nil, fmt.Errorf("field %q: bad index %q", s, inner)
			}
			p = append(p, PathElement{Index: n, IsIndex: true})
			i += end + 1
		default:
			end := strings.IndexAny(s[i:], ".[")
			if end < 0 {
				end = len(s) - i
			}
			p = append(p, PathElement{Key: s[i : i+end]})
			i += end
		}
	}
	return p, nil
}

// pointerEscaper and pointerUnescaper turn a key into a JSON pointer token
// and back (RFC 6901): "~" is "~0" and "/" is "~1".
var (
	pointerEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
	pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
)

// EscapePointerToken escapes one key as a JSON pointer token (RFC 6901):
// istio.io/rev is istio.io~1rev.
func EscapePointerToken(key string) string { return pointerEscaper.Replace(key) }

// PointerTokens splits a JSON pointer (RFC 6901) into its unescaped tokens:
// /metadata/labels/istio.io~1rev is metadata, labels, istio.io/rev. The
// empty pointer (the whole document) has no tokens; any other must start
// with "/". Tokens are not told apart as keys or indexes: that takes the
// document.
func PointerTokens(ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("JSON pointer %q: it must start with /", ptr)
	}
	ts := strings.Split(ptr[1:], "/")
	for i, t := range ts {
		ts[i] = pointerUnescaper.Replace(t)
	}
	return ts, nil
}

// Pointer formats the path as a JSON pointer (RFC 6901):
// /spec/http/0/route/1/weight, /metadata/labels/istio.io~1rev.
func (p Path) Pointer() string {
	var b strings.Builder
	for _, e := range p {
		b.WriteByte('/')
		if e.IsIndex {
			b.WriteString(strconv.Itoa(e.Index))
		} else {
			b.WriteString(EscapePointerToken(e.Key))
		}
	}
	return b.String()
}

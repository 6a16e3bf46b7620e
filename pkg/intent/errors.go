package intent

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// PathElement is one step of a Path: a field or map key, or a list index.
type PathElement struct {
	// Key is the field name or map key; empty when IsIndex.
	Key string
	// Index is the list index when IsIndex.
	Index int
	// IsIndex tells an index from a key.
	IsIndex bool
}

// Path locates a field inside an object, e.g. spec.routes[0].match[1].headers.
type Path []PathElement

// P builds a Path from strings (keys) and ints (indexes); other values panic.
func P(elems ...any) Path {
	p := make(Path, 0, len(elems))
	for _, e := range elems {
		switch e := e.(type) {
		case string:
			p = append(p, PathElement{Key: e})
		case int:
			p = append(p, PathElement{Index: e, IsIndex: true})
		default:
			panic("intent.P: path elements are strings or ints")
		}
	}
	return p
}

// Child returns a copy of p with elems appended (see P).
func (p Path) Child(elems ...any) Path {
	q := make(Path, 0, len(p)+len(elems))
	q = append(q, p...)
	return append(q, P(elems...)...)
}

// String formats the path as dotted keys and [i] indexes. Keys that are not
// plain identifiers (letters, digits, '-', '_') are quoted: headers["x.y"].
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.IsIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.Index))
			b.WriteByte(']')
		case plainKey(e.Key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.Key)
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Quote(e.Key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// FieldError is one problem with one field of an intent document. It prints as
//
//	base/reviews.yaml:14: ServiceIntent/bookinfo/reviews: spec.routes[0].match[1].headres: unknown field
//
// where the line is left out when unknown and the file when there is none;
// a column follows the line when known (base/reviews.yaml:49:5: ...), as
// for the errors CheckRead finds in the text as written.
type FieldError struct {
	// File is the repo-relative file that declared the intent.
	File string
	// Line is the 1-based line of the field in File (or of its document, or of
	// the closest parent that is there), 0 when unknown.
	Line int
	// Column is the 1-based column of the text that is wrong on Line, 0
	// when unknown (errors found on the merged object have none).
	Column int
	// Object is the intent's ID, e.g. ServiceIntent/bookinfo/reviews.
	Object string
	// Path is the field; Field is its string form.
	Path  Path
	Field string
	// Message says what is wrong, e.g. "unknown field".
	Message string
	// AfterOverlays is true when the field's value is not the one File
	// declares, and the overlay that changed it could not be found: Line is
	// then 0, and the error says "(after overlays)" after the file.
	AfterOverlays bool
}

// Error implements error. It is one line: an object ID holding a line
// break (a kind or name that the decoder refuses) is quoted, and so is any
// line break left in the message.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(oneLine(e.File))
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
			if e.Column > 0 {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(e.Column))
			}
		}
		if e.AfterOverlays {
			b.WriteString(" (after overlays)")
		}
		b.WriteString(": ")
	}
	if e.Object != "" {
		if hasLineBreak(e.Object) {
			b.WriteString(strconv.Quote(e.Object))
		} else {
			b.WriteString(e.Object)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(oneLine(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.Message))
	return b.String()
}

// lineBreaks are what would start a new line in a terminal or a log.
const lineBreaks = "\r\n\v\f\u0085\u2028\u2029"

func hasLineBreak(s string) bool { return strings.ContainsAny(s, lineBreaks) }

// lineBreakEscaper writes line breaks as Go escapes.
var lineBreakEscaper = strings.NewReplacer("\r", `\r`, "\n", `\n`, "\v", `\v`, "\f", `\f`, "\u0085", `\u0085`, "\u2028", `\u2028`, "\u2029", `\u2029`)

// oneLine returns s with its line breaks escaped; most messages quote the
// text they embed already (%q), this is the safety net.
func oneLine(s string) string {
	if !hasLineBreak(s) {
		return s
	}
	return lineBreakEscaper.Replace(s)
}

// ErrorList is every problem found in one or more documents, in file, line
// and field order. Its Error joins the messages with newlines.
type ErrorList []*FieldError

// Error implements error.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find each *FieldError.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Sort orders the list by file, object and line, keeping the order of equal entries.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *FieldError) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column))
	})
}

// Package termsafe makes untrusted text (names, notes, messages and errors
// that carry repository or cluster content) safe to print: control
// characters, invisible format characters and bidirectional overrides are
// replaced by visible escapes, so nothing read from a repository can move
// the cursor, recolour or clear a terminal, ring its bell, or reorder what a
// reviewer sees (Trojan Source, CVE-2021-42574).
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal or a rendered page as
// is: C0 and C1 control characters (including ESC, BEL, backspace, CR, LF,
// TAB and DEL), the line and paragraph separators U+2028 and U+2029, and
// every Unicode format character (category Cf), which covers bidirectional
// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
// marks U+200E, U+200F and U+061C, zero-width characters (U+200B–U+200D,
// U+2060, U+FEFF), the soft hyphen, and the invisible tag characters
// U+E0000–U+E007F. Invalid UTF-8 bytes are escaped by the functions of this
// package as well (as \xNN).
//
// The zero-width joiner of emoji sequences is a format character, so such
// emoji show with a visible \u200D between their parts.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

// Escape returns the visible escape of the unsafe rune r: \t, \n and \r for
// those, \xNN for other runes below U+0100, and \uNNNN or \UNNNNNNNN
// otherwise.
func Escape(r rune) string {
	switch {
	case r == '\t':
		return `\t`
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r < 0x100:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04X`, r)
	default:
		return fmt.Sprintf(`\U%08X`, r)
	}
}

// Line returns s for one line of a terminal: every unsafe rune, including
// line breaks and tabs, becomes its visible escape (an ESC byte reads
// `\x1b`, U+202E reads `\u202E`). Printable text, including non-ASCII
// letters and emoji, is unchanged, and so is a backslash: Line is for
// reading, not for round trips.
func Line(s string) string { return escape(s, "") }

// Text is Line for multi-line output: newlines and tabs stay, a CR before
// a newline is dropped, and every other unsafe rune becomes its visible
// escape.
func Text(s string) string {
	return escape(strings.ReplaceAll(s, "\r\n", "\n"), "\n\t")
}

// escape replaces unsafe runes of s, except those in keep, by their escapes.
// It returns s itself when nothing needs escaping.
func escape(s, keep string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if !clean || Unsafe(r) && !strings.ContainsRune(keep, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r) && !strings.ContainsRune(keep, r):
			b.WriteString(Escape(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Writer escapes what is written through it with Text: newlines and tabs
// pass, every other unsafe rune is written as its visible escape. Each
// Write is escaped on its own, so a rune split across two writes shows as
// escaped bytes; fmt.Fprintf and friends write whole strings at once.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer writing to w. Wrap only streams of plain text:
// the escape sequences of colour output would be escaped as well.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes the escaped p to the underlying writer. It reports len(p)
// on success, as io.Writer requires, though more bytes may be written.
func (w *Writer) Write(p []byte) (int, error) {
	s := Text(string(p))
	if _, err := io.WriteString(w.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

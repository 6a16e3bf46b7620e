// Package markdown escapes text for the GitHub-flavoured Markdown that plans,
// drift diffs and drift reports print, so that text from repositories and
// clusters (names, notes, reasons, messages, values) shows as written and can
// never open an HTML comment or tag, mention a user or team, link an issue,
// start a heading, list or fence, end a code span, or break a table row.
//
// Pick the function for the context the text lands in:
//
//   - Inline (and its older name Text) for running text: a table cell, a list
//     item, a heading, a bold span;
//   - Code for a code span (identifiers, paths, JSON values);
//   - HTML for text inside raw HTML, such as a <summary>;
//   - Fence for multi-line text (a YAML object, a diff, a long message) as a
//     whole fenced code block, which must start at the beginning of a line.
//
// Every function turns control characters, invisible format characters and
// bidirectional overrides (Trojan Source) into visible escapes such as
// \x1b or \u202E (see package termsafe).
package markdown

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/meshintent/meshintent/pkg/termsafe"
)

// zwsp is a zero-width space as an HTML entity. GitHub links @user,
// @org/team and #123 only when the name or number follows directly, so a
// zero-width space after @ or # keeps the text readable and inert.
const zwsp = "&#8203;"

// Inline escapes s for inline GitHub-flavoured Markdown: a table cell, a list
// item, a heading or an emphasis span. The result has no line breaks and no
// unescaped pipe, so it cannot end a cell or a row, and it renders as the
// text of s:
//
//   - <, > and & become entities, so no HTML tag, comment (<!--) or entity
//     can open and "&lt;" shows as written;
//   - @ and a # before a letter or digit get a zero-width space after them,
//     so @user, @org/team and #1 mention or link nothing;
//   - the Markdown punctuation \ ` * _ [ ] ( ) ! ~ | # $ is backslash-escaped,
//     so there is no emphasis, link, image, code span, strikethrough or math;
//   - a leading -, +, =, "1." or "1)" is escaped and a leading space becomes
//     an entity, so the text cannot start a list, a heading underline or an
//     indented code block when it begins a line or a list item;
//   - CR, LF, CRLF, TAB, NEL, U+2028 and U+2029 become spaces, other
//     control and format characters (ESC, U+202E, zero-width spaces…) and
//     invalid UTF-8 bytes become visible escapes (\x1b, \u202E, \xff).
//
// Emoji shortcodes such as :tada: still render; bare URLs may still be
// autolinked by GitHub (only for http, https and www, never javascript:).
func Inline(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\\x%02x`, s[i])
		case r == '\r' && strings.HasPrefix(s[i:], "\r\n"):
			b.WriteByte(' ')
			n = 2
		case isBreak(r) || r == '\t':
			b.WriteByte(' ')
		case termsafe.Unsafe(r):
			b.WriteString(`\` + termsafe.Escape(r))
		case entity(r, false) != "":
			b.WriteString(entity(r, false))
		case r == '@':
			b.WriteString("@" + zwsp)
		case r == '#':
			b.WriteString(`\#`)
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); isWord(next) {
				b.WriteString(zwsp)
			}
		case strings.ContainsRune("\\`*_[]()!~|$", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return guardLineStart(b.String())
}

// entity is r's HTML entity when r is <, > or &, or, with quotes, " or ';
// otherwise it is "".
func entity(r rune, quotes bool) string {
	switch {
	case r == '<':
		return "&lt;"
	case r == '>':
		return "&gt;"
	case r == '&':
		return "&amp;"
	case r == '"' && quotes:
		return "&quot;"
	case r == '\'' && quotes:
		return "&#39;"
	}
	return ""
}

// Text escapes s for a table cell or any other inline context. It is Inline
// under its older name.
func Text(s string) string { return Inline(s) }

// guardLineStart escapes what could start a block in s, the output of
// Inline, should it begin a line or a list item.
func guardLineStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case ' ':
		return "&#32;" + s[1:]
	case '-', '+', '=':
		return `\` + s
	}
	// An ordered list marker: up to nine digits, then "." or ")".
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits <= 9 && digits < len(s) && s[digits] == '.' {
		return s[:digits] + `\` + s[digits:]
	}
	// ")" is escaped by Inline already.
	return s
}

// Code puts s in a code span fit for a table cell; "" stays "". GitHub
// renders a code span literally (no HTML, no entities, no mentions), so
// only what ends the span or the row needs care:
//
//   - the span is fenced with one backtick more than the longest run of
//     backticks in s, and padded with spaces when s begins or ends with a
//     backtick or a space, so s cannot close it;
//   - a pipe is written \| (GitHub's table syntax), which shows as | in a
//     table cell and as \| outside a table;
//   - line breaks, tabs, control and format characters become visible
//     escapes (\n, \x1b, \u202E).
//
// A backslash directly before a pipe cannot be written in a code span inside
// a table, so such s is written as <code>…</code> with Inline's escaping.
func Code(s string) string {
	if s == "" {
		return ""
	}
	s = termsafe.Line(s)
	if strings.Contains(s, `\|`) {
		return "<code>" + Inline(s) + "</code>"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if s[0] == '`' || s[0] == ' ' || s[len(s)-1] == '`' || s[len(s)-1] == ' ' {
		s = " " + s + " "
	}
	return fence + s + fence
}

// HTML escapes s for text inside raw HTML, such as a <summary> or <td>,
// where Markdown is not parsed: &, <, >, " and ' become entities, @ and a #
// before a letter or digit get a zero-width space (no mention, no issue
// link), line breaks become spaces and control and format characters become
// visible escapes.
func HTML(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	s = strings.ReplaceAll(s, "\r\n", " ")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isBreak(r) || r == '\t':
			b.WriteByte(' ')
		case termsafe.Unsafe(r):
			b.WriteString(termsafe.Escape(r))
		case entity(r, true) != "":
			b.WriteString(entity(r, true))
		case r == '@':
			b.WriteString("@" + zwsp)
		case r == '#':
			b.WriteByte('#')
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); isWord(next) {
				b.WriteString(zwsp)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Fence returns s as a whole fenced code block, ending in a newline, for
// output at the start of a line. The fence is one backtick longer than the
// longest run of backticks in s (at least three), so no line of s can close
// it; lang, the info string, keeps only letters, digits and "_+.-". CRLF,
// CR, NEL, U+2028 and U+2029 become newlines; tabs stay; other control and
// format characters become visible escapes (\x1b, \u202E). GitHub renders
// the block literally: no HTML, no mentions, no links.
func Fence(lang, s string) string {
	s = breaks.Replace(s)
	s = termsafe.Text(s)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + cleanLang(lang) + "\n" + s + fence + "\n"
}

// Block is Fence without a language: s as a whole fenced code block.
func Block(s string) string { return Fence("", s) }

// Details returns a collapsed section: summary, escaped with HTML, and body,
// Markdown that the caller has escaped already (Inline, Code, Fence…). The
// result starts and ends with a line of its own.
func Details(summary, body string) string {
	body = strings.TrimRight(body, "\n")
	return "<details>\n<summary>" + HTML(summary) + "</summary>\n\n" + body + "\n\n</details>\n"
}

// breaks normalises line breaks for Fence.
var breaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n")

// isBreak reports whether r breaks a line somewhere: a Markdown renderer,
// a browser or an editor.
func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == '\u0085' || r == '\u2028' || r == '\u2029'
}

// isWord reports whether r may continue a mention or an issue reference.
func isWord(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_'
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// cleanLang keeps the characters of a fence's info string that cannot end
// or confuse it.
func cleanLang(lang string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("_+.-", r) {
			return r
		}
		return -1
	}, lang)
}

// Value renders v as compact JSON ("<absent>" for nil), cut to at most limit
// bytes (no cut when limit is 0). The result is not escaped: put it in Code.
func Value(v any, limit int) string {
	if v == nil {
		return "<absent>"
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // each output escapes for itself
	s := fmt.Sprint(v)
	if err := enc.Encode(v); err == nil {
		s = strings.TrimSuffix(b.String(), "\n")
	}
	if limit > 0 {
		s = Truncate(s, limit)
	}
	return s
}

// Truncate shortens s to at most n bytes on a rune boundary, marking the cut
// with an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

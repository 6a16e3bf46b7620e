// Package markdown escapes text for the Markdown tables that plans, drift
// diffs and drift reports print, so that text from repositories and clusters
// can never break a row or start a line of its own.
package markdown

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

var (
	text = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")
	code = strings.NewReplacer("`", "'", "|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")
)

// Text escapes s for a table cell: pipes are escaped and line breaks become
// spaces.
func Text(s string) string { return text.Replace(s) }

// Code puts s in a code span fit for a table cell; "" stays "".
func Code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + code.Replace(s) + "`"
}

// Value renders v as compact JSON ("<absent>" for nil), cut to at most limit
// bytes (no cut when limit is 0).
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

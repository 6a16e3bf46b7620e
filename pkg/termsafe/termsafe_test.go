package termsafe

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
)

func TestLineAndText(t *testing.T) {
	tests := []struct {
		name, in, line, text string
	}{
		{"printable text is unchanged", "VirtualService/shop/reviews: Grüße 東京 🎉", "VirtualService/shop/reviews: Grüße 東京 🎉", "VirtualService/shop/reviews: Grüße 東京 🎉"},
		{"an ESC sequence is visible", "\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`, `\x1b[2J\x1b]0;pwned\x07`},
		{"a backspace is visible", "ok\b\b\bno", `ok\x08\x08\x08no`, `ok\x08\x08\x08no`},
		{"a CR cannot overwrite the line", "bad\rgood", `bad\rgood`, `bad\rgood`},
		{"a newline is escaped on one line and kept in text", "a\nb\r\nc", `a\nb\r\nc`, "a\nb\nc"},
		{"a tab is escaped on one line and kept in text", "a\tb", `a\tb`, "a\tb"},
		{"DEL and C1 controls are visible", "\x7f\u009b", `\x7f\x9b`, `\x7f\x9b`},
		{"bidi overrides and isolates are visible", "a\u202eb\u2066c\u2069", `a\u202Eb\u2066c\u2069`, `a\u202Eb\u2066c\u2069`},
		{"zero-width characters are visible", "ad\u200bmin\ufeff", `ad\u200Bmin\uFEFF`, `ad\u200Bmin\uFEFF`},
		{"line separators are visible", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"tag characters are visible", "x\U000E0041", `x\U000E0041`, `x\U000E0041`},
		{"invalid bytes are visible", "a\xff\xfeb", `a\xff\xfeb`, `a\xff\xfeb`},
		{"a replacement character is printable", "a\ufffdb", "a\ufffdb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.line {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
			}
			if got := Text(tt.in); got != tt.text {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.text)
			}
		})
	}
}

func TestNoUnsafeRuneSurvives(t *testing.T) {
	var all []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if Unsafe(r) {
			all = append(all, r)
		}
	}
	for _, r := range all {
		for _, out := range []string{Line(string(r)), Text(string(r))} {
			for _, o := range out {
				if Unsafe(o) && o != '\n' && o != '\t' {
					t.Fatalf("%U survives as %q", r, out)
				}
			}
		}
	}
}

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	n, err := fmt.Fprintf(w, "  %s: want %s\n", "a\x1b[2Jb", "c\u202ed")
	if err != nil {
		t.Fatal(err)
	}
	if want := "  a\\x1b[2Jb: want c\\u202Ed\n"; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
	if n != len("  a\x1b[2Jb: want c\u202ed\n") {
		t.Errorf("reported %d bytes, want the length of the input", n)
	}
}

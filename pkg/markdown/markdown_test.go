package markdown

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/pkg/markdown/markdowntest"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

// hostile is text an attacker can put in a repository: in a note, a reason,
// a value or a name.
var hostile = []struct{ name, s string }{
	{"plain text", "route 10% of traffic to v2"},
	{"an HTML comment opener hides the rest", "before <!-- after"},
	{"an HTML comment closer", "--> after"},
	{"a whole comment", "a <!-- hidden --> b"},
	{"a script tag", `<script>alert(1)</script>`},
	{"an image with an event handler", `<img src=x onerror=alert(1)>`},
	{"a details tag", "</details><details open>"},
	{"a user mention", "ping @octocat please"},
	{"a team mention", "@org/team"},
	{"an issue reference", "fixes #1"},
	{"a cross-repo reference", "org/repo#12"},
	{"an email address", "a@example.com"},
	{"a code fence", "```\ncode\n```"},
	{"backticks", "a `b` c ``d``"},
	{"a leading backtick", "`x"},
	{"a pipe", "a | b"},
	{"an escaped pipe", `a \| b`},
	{"a double backslash before a pipe", `a \\| b`},
	{"a trailing backslash", `a\`},
	{"a heading after a newline", "ok\n# heading"},
	{"a heading", "# heading"},
	{"a list item", "- item"},
	{"a plus list item", "+ item"},
	{"an ordered list item", "1. item"},
	{"an ordered list item with a parenthesis", "2) item"},
	{"a block quote", "> quote"},
	{"a thematic break", "***"},
	{"a setext underline", "text\n==="},
	{"an indented code block", "    code"},
	{"a javascript link", "[click](javascript:alert(1))"},
	{"an image", "![img](http://x/a.png)"},
	{"a reference link", "[a][b]\n\n[b]: http://x"},
	{"emphasis", "*a* _b_ **c** ~~d~~"},
	{"math", "$\\color{red}{x}$"},
	{"an emoji shortcode", ":tada: done"},
	{"an entity stays as written", "&lt;b&gt; &amp; &#64;user"},
	{"a CR", "a\rb"},
	{"a CRLF", "a\r\nb"},
	{"a line separator", "a\u2028b\u2029c"},
	{"a NEL", "a\u0085b"},
	{"a tab", "a\tb"},
	{"an ESC sequence", "\x1b[31mred\x1b[0m\x07\b"},
	{"a right-to-left override", "access\u202e\u2066 // admin\u2069\u2066"},
	{"zero-width characters", "ad\u200bmin\u200d\ufeff"},
	{"invalid UTF-8", "a\xffb"},
	{"non-ASCII letters", "Grüße, 東京"},
}

var (
	tag      = regexp.MustCompile(`<[^>]*>`)
	cell     = regexp.MustCompile(`(?s)<td>(.*?)</td>`)
	codeElem = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)
	// mention matches what GitHub links: @ or # directly followed by a name
	// or a number, in the rendered text.
	mention = regexp.MustCompile(`[@#][A-Za-z0-9]`)
)

// textOf returns the text a reader sees in rendered HTML.
func textOf(h string) string { return html.UnescapeString(tag.ReplaceAllString(h, "")) }

// shown is what s should look like once rendered: line breaks and tabs as
// spaces, unsafe runes as visible escapes, and a zero-width space after @
// and after a # that precedes a name.
func shown(s string, inCode bool) string {
	if !inCode {
		s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ", "\t", " ", "\u0085", " ", "\u2028", " ", "\u2029", " ").Replace(s)
	}
	s = termsafe.Line(s)
	if inCode {
		return s
	}
	s = strings.ReplaceAll(s, "@", "@\u200b")
	return regexp.MustCompile(`#([A-Za-z0-9_-])`).ReplaceAllString(s, "#\u200b$1")
}

// checkInert fails if rendered HTML h holds markup or a mention that did
// not come from the test's own Markdown.
func checkInert(t *testing.T, h string) {
	t.Helper()
	for _, bad := range []string{"<!--", "<script", "<img", "<details", "<a ", "<em>", "<strong>", "<del>", "<h1", "<h2", "<blockquote", "<ol", "<li><ul", "<hr", "\x1b", "\u202e"} {
		if strings.Contains(h, bad) {
			t.Errorf("rendered HTML contains %q:\n%s", bad, h)
		}
	}
	// GitHub links no mention or reference inside a code span or block.
	if m := mention.FindString(textOf(codeElem.ReplaceAllString(h, ""))); m != "" {
		t.Errorf("rendered text has a live mention or reference %q:\n%s", m, h)
	}
}

// renderCell renders a table whose one row has the cells "x" and escaped,
// checks that the HTML is inert and has exactly those two cells, and returns
// the second cell's HTML.
func renderCell(t *testing.T, escaped string) string {
	t.Helper()
	md := "| a | b |\n|---|---|\n| x | " + escaped + " |\n"
	h := markdowntest.HTML(t, md)
	checkInert(t, h)
	cells := cell.FindAllStringSubmatch(h, -1)
	if len(cells) != 2 {
		t.Fatalf("want one row of 2 cells, got %d cells:\n%s\nfrom\n%s", len(cells), h, md)
	}
	return cells[1][1]
}

func TestInlineRendersAsTheTextInOneTableCell(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			td := renderCell(t, Inline(tt.s))
			// A leading space is kept as an entity; the table trims the end.
			if got, want := textOf(td), strings.TrimRight(shown(tt.s, false), " "); got != want {
				t.Errorf("cell shows %q, want %q (markdown %q)", got, want, Inline(tt.s))
			}
		})
	}
}

func TestInlineCannotStartABlock(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			for _, md := range []string{Inline(tt.s) + "\n", "- " + Inline(tt.s) + "\n", "intro\n" + Inline(tt.s) + "\n"} {
				h := markdowntest.HTML(t, md)
				checkInert(t, h)
				if strings.Count(h, "<p>")+strings.Count(h, "<li>") != 1 || strings.Contains(h, "<pre") || strings.Contains(h, "<table") {
					t.Errorf("want a single paragraph or list item, got:\n%s\nfrom\n%s", h, md)
				}
				if strings.Contains(Inline(tt.s), "\n") {
					t.Errorf("Inline(%q) has a line break", tt.s)
				}
			}
		})
	}
}

func TestCodeRendersAsTheTextInOneTableCell(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			td := renderCell(t, Code(tt.s))
			if !strings.HasPrefix(td, "<code>") || !strings.HasSuffix(td, "</code>") {
				t.Errorf("want the cell to be one code span, got %s", td)
			}
			if got, want := textOf(td), shown(tt.s, true); got != want && textOf(td) != shown(tt.s, false) {
				t.Errorf("cell shows %q, want %q (markdown %q)", got, want, Code(tt.s))
			}
		})
	}
}

func TestFenceRendersAsTheTextInOneCodeBlock(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			md := "before\n\n" + Fence("yaml", tt.s) + "\nafter\n"
			h := markdowntest.HTML(t, md)
			checkInert(t, h)
			if n := strings.Count(h, "<pre>"); n != 1 {
				t.Fatalf("want 1 code block, got %d:\n%s", n, h)
			}
			if !strings.HasSuffix(h, "<p>after</p>\n") {
				t.Errorf("the block did not end where it should:\n%s", h)
			}
			want := termsafe.Text(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(tt.s))
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			code := regexp.MustCompile(`(?s)<pre><code[^>]*>(.*)</code></pre>`).FindStringSubmatch(h)
			if code == nil || html.UnescapeString(code[1]) != want {
				t.Errorf("block shows %q, want %q", code, want)
			}
		})
	}
}

func TestHTMLAndDetails(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			md := Details(tt.s, "| a |\n|---|\n| "+Inline(tt.s)+" |")
			h := markdowntest.HTML(t, md)
			if strings.Count(h, "<details>") != 1 || strings.Count(h, "</details>") != 1 || strings.Count(h, "<summary>") != 1 {
				t.Errorf("want one details element, got:\n%s", h)
			}
			h = strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "").Replace(h)
			checkInert(t, h)
			if strings.ContainsAny(HTML(tt.s), "<>\n\r") {
				t.Errorf("HTML(%q) = %q has markup or a line break", tt.s, HTML(tt.s))
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"a pipe cannot end a cell", Text("a|b"), `a\|b`},
		{"a line break cannot start a row", Text("a\nDENY b"), "a DENY b"},
		{"a comment cannot open", Inline("<!--"), `&lt;\!--`},
		{"a mention gets a zero-width space", Inline("@org/team"), "@&#8203;org/team"},
		{"an issue reference gets a zero-width space", Inline("#1"), `\#&#8203;1`},
		{"a lone hash is only escaped", Inline("a # b"), `a \# b`},
		{"an entity is shown as written", Inline("&lt;"), "&amp;lt;"},
		{"a leading list marker is escaped", Inline("- x"), `\- x`},
		{"a leading ordered list marker is escaped", Inline("10. x"), `10\. x`},
		{"a leading space cannot indent", Inline("    x"), "&#32;   x"},
		{"a right-to-left override is visible", Inline("a\u202eb"), `a\\u202Eb`},
		{"an ESC byte is visible", Inline("\x1b[2J"), `\\x1b\[2J`},
		{"a backtick cannot end a code span", Code("a`b|c"), "``a`b\\|c``"},
		{"a leading backtick is padded", Code("`a"), "`` `a ``"},
		{"a backslash before a pipe falls back to HTML code", Code(`a\|b`), `<code>a\\\|b</code>`},
		{"a code span shows control characters", Code("a\nb\x1b"), "`a\\nb\\x1b`"},
		{"an empty code span is nothing", Code(""), ""},
		{"a fence is longer than any backtick run", Fence("go", "````\n"), "`````go\n````\n`````\n"},
		{"a fence's language keeps safe characters", Fence("ya`ml <x>", "a"), "```yamlx\na\n```\n"},
		{"HTML escapes quotes and mentions", HTML(`"@a" 'b' <c>`), "&quot;@&#8203;a&quot; &#39;b&#39; &lt;c&gt;"},
		{"nil is absent", Value(nil, 0), "<absent>"},
		{"values are compact JSON without HTML escapes", Value(map[string]any{"a": "<b>"}, 0), `{"a":"<b>"}`},
		{"long values are cut on a rune boundary", Value("ääää", 6), `"ä…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

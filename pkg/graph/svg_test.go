package graph

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// elements parses doc as XML (failing the test when it is not well-formed)
// and returns every element's name, every attribute as name=value and all
// character data.
func elements(t *testing.T, doc []byte) (names, attrs []string, text string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	var chars strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			names = append(names, tok.Name.Local)
			for _, a := range tok.Attr {
				attrs = append(attrs, a.Name.Local+"="+a.Value)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			chars.Write(tok)
		}
	}
	if depth != 0 {
		t.Fatalf("SVG ends inside an element")
	}
	return names, attrs, chars.String()
}

func TestSVG(t *testing.T) {
	const hostile = `</text><script>alert("x")</script><foreignObject>&amp;`
	tests := []struct {
		name string
		spec string
		// wantText must all be in the SVG's text, title and desc.
		wantText []string
	}{{
		name:     "weights are written as text on the edges",
		spec:     "  split:\n  - {version: v1, weight: 80}\n  - {version: v2, weight: 15}\n  - {version: v3, weight: 5}\n",
		wantText: []string{"80%", "15%", "5%", "Traffic graph of reviews in bookinfo", "Rules (first match wins)"},
	}, {
		name:     "a suspended version is named as such, not only coloured",
		spec:     "  split:\n  - {version: v1, weight: 50}\n  - {version: v3, weight: 50}\n  suspend: {versions: [v3], reason: x}\n",
		wantText: []string{"100%", "0% suspended", "SUSPENDED (weight 0)", "Suspended: v3."},
	}, {
		name:     "faults and aborts are written out",
		spec:     "  split:\n  - {version: v1, weight: 100}\n  suspend: {all: true, reason: x}\n",
		wantText: []string{"ABORT: every request gets HTTP 503", "every request aborted with HTTP 503"},
	}, {
		name: "hostile text from Git is escaped",
		spec: "  routes:\n  - name: evil\n    match: [{headers: {x-evil: {exact: '" + strings.ReplaceAll(hostile, "'", "''") + "'}}}]\n    to: [{version: v2}]\n  split:\n  - {version: v1, weight: 100}\n",
		// The full text is in the titles and the description.
		wantText: []string{`header x-evil = </text><script>alert("x")</script>`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := FromSet(render(t, head+tt.spec))[0]
			doc := SVG(g)
			names, attrs, text := elements(t, doc)
			if names[0] != "svg" {
				t.Errorf("root element %s, want svg", names[0])
			}
			for _, n := range names {
				switch n {
				case "script", "foreignObject", "style", "image", "use", "a", "iframe":
					t.Errorf("SVG has a <%s> element", n)
				}
			}
			for _, a := range attrs {
				if strings.HasPrefix(a, "on") || strings.HasPrefix(a, "style=") || strings.HasPrefix(a, "href=") {
					t.Errorf("SVG has attribute %s", a)
				}
			}
			for _, want := range []string{"role=img", "aria-labelledby=g-bookinfo-reviews-title g-bookinfo-reviews-desc"} {
				if !contains(attrs, want) {
					t.Errorf("root lacks %s", want)
				}
			}
			if !contains(names, "title") || !contains(names, "desc") {
				t.Errorf("SVG lacks <title> or <desc>: %v", names)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("SVG text lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestSVGInvalidXMLCharacters(t *testing.T) {
	// A name with characters XML 1.0 cannot hold must still give a
	// well-formed document.
	g := Graph{Namespace: "ns", Name: "a\x00b\x1bc\ufffe", Rules: []Rule{{Match: "uri = \x07", Edges: []Edge{{To: "v1", Weight: 100}}}},
		Versions: []Version{{Name: "v1", Declared: true}}}
	elements(t, SVG(g))
}

func TestShorten(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer label", 6, "a lon…"},
		{"ünïcödé-label", 5, "ünïc…"},
	}
	for _, tt := range tests {
		if got := shorten(tt.in, tt.max); got != tt.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

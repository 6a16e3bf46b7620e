// Package markdowntest renders Markdown as GitHub does, for tests that check
// that text escaped with pkg/markdown stays inert once rendered.
package markdowntest

import (
	"bytes"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// gfm renders GitHub-flavoured Markdown and lets raw HTML through, so that
// any HTML the escaping let slip shows in the output.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))

// HTML is md rendered as GitHub-flavoured Markdown, with raw HTML passed
// through; it fails the test when md cannot be rendered.
func HTML(t testing.TB, md string) string {
	t.Helper()
	var b bytes.Buffer
	if err := gfm.Convert([]byte(md), &b); err != nil {
		t.Fatalf("render %q: %v", md, err)
	}
	return b.String()
}

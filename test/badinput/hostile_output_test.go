package badinput

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/meshintent/meshintent/internal/cli"
)

// hostileYAML is a YAML double-quoted string with everything that could
// take over a pull-request comment or a terminal: an HTML comment that
// hides the rest, raw HTML, mentions, an issue reference, table pipes, a
// heading and a fence after line breaks, a javascript: link, terminal
// escape sequences (clear screen, set title, bell) and a right-to-left
// override.
const hostileYAML = `"<!-- hide the rest\n@org/team @octocat #1 <img src=x onerror=alert(1)> <script>alert(1)</script> | a | b |\n# heading\n` +
	"```" + `\n[link](javascript:alert(1)) \e[2J\e]0;pwned\a \u202Eevil"`

// hostileRepo is the example repository with a base commit and, on top, a
// head commit whose ratings suspension gives hostileYAML as its reason (the
// built-in policy quotes it in a warning) and whose new pass-through
// VirtualService carries it in an annotation (it shows in the diff).
func hostileRepo(t *testing.T) (r *badRepo, base string) {
	t.Helper()
	r = newBadRepo(t)
	base = r.Git("rev-parse", "HEAD")
	r.Edit("base/ratings.yaml", "spec:\n", "spec:\n  suspend:\n    all: true\n    reason: "+hostileYAML+"\n")
	r.addResource("base", "base/notes-vs.yaml", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: notes
  namespace: bookinfo
  annotations:
    note: `+hostileYAML+`
spec:
  hosts: [notes]
  http:
  - route:
    - destination: {host: notes}
`)
	r.Commit("ratings: suspend")
	return r, base
}

// outsideFences returns the lines of md that are not inside a fenced code
// block, and fails if a fence is left open.
func outsideFences(t *testing.T, md string) []string {
	t.Helper()
	var out []string
	open := 0 // length of the open fence, 0 outside
	for _, line := range strings.Split(md, "\n") {
		run := len(line) - len(strings.TrimLeft(line, "`"))
		switch {
		case open == 0 && run >= 3:
			open = run
		case open > 0 && run >= open && strings.TrimSpace(line[run:]) == "":
			open = 0
		case open == 0:
			out = append(out, line)
		}
	}
	if open != 0 {
		t.Errorf("a fenced code block is never closed:\n%s", md)
	}
	return out
}

// cellCount counts the cells of a table row as GitHub splits it: a pipe
// after a backslash escape does not count.
func cellCount(row string) int {
	pipes := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++ // an escaped character, a pipe included
		case '|':
			pipes++
		}
	}
	return pipes - 1
}

// allowedTag is the HTML the plan writes itself.
var allowedTag = regexp.MustCompile(`^</?(details|summary|code|b|br|sub|sup)( open)?>`)

func TestHostileTextInThePlanComment(t *testing.T) {
	r, base := hostileRepo(t)
	res := reconciler(t, time.Minute, "plan", r.Dir, "--base", base, "--head", "HEAD", "--path", goodPath, "-o", "markdown", "--cache-dir", t.TempDir())
	if res.code == cli.ExitError {
		t.Fatalf("plan exited 2:\n%s", res.stderr)
	}
	md := res.stdout
	if !strings.Contains(md, "hide the rest") || !strings.Contains(md, "octocat") {
		t.Fatalf("the plan does not show the hostile reason at all:\n%s", md)
	}

	t.Run("no line outside a code block opens a comment, holds raw HTML or mentions anyone", func(t *testing.T) {
		for _, line := range outsideFences(t, md) {
			if strings.Contains(line, "<!--") {
				t.Errorf("a line opens an HTML comment: %q", line)
			}
			for i := strings.IndexByte(line, '<'); i >= 0; i = strings.IndexByte(line, '<') {
				if !allowedTag.MatchString(line[i:]) {
					t.Errorf("a line holds raw HTML at %q", line[i:min(len(line), i+30)])
					break
				}
				line = line[i+1:]
			}
		}
	})
	t.Run("every table row has the cells of its header", func(t *testing.T) {
		want := -1
		for _, line := range outsideFences(t, md) {
			if !strings.HasPrefix(line, "|") {
				want = -1
				continue
			}
			if want < 0 {
				want = cellCount(line)
				continue
			}
			if got := cellCount(line); got != want {
				t.Errorf("a row has %d cells, its header %d: %q", got, want, line)
			}
		}
	})
	t.Run("rendered as GitHub does, the comment has no markup, no mention and no control character from the repository", func(t *testing.T) {
		var h bytes.Buffer
		gfm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
		if err := gfm.Convert([]byte(md), &h); err != nil {
			t.Fatal(err)
		}
		out := h.String()
		for _, bad := range []string{"<!--", "<img", "<script", "<h1", "javascript:alert(1)\"", "\x1b", "\a", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("the rendered comment holds %q", bad)
			}
		}
		// GitHub links no mention inside code.
		text := regexp.MustCompile(`(?s)<pre.*?</pre>|<code>.*?</code>|<[^>]*>`).ReplaceAllString(out, "")
		if m := regexp.MustCompile(`@org|@octocat|#1\b`).FindString(text); m != "" {
			t.Errorf("the rendered comment mentions %q", m)
		}
		if !strings.Contains(text, "hide the rest") {
			t.Errorf("the text after the comment opener is hidden")
		}
	})
	t.Run("the text plan prints no control character", func(t *testing.T) {
		res := reconciler(t, time.Minute, "plan", r.Dir, "--base", base, "--head", "HEAD", "--path", goodPath, "--cache-dir", t.TempDir())
		if res.code == cli.ExitError {
			t.Fatalf("plan exited 2:\n%s", res.stderr)
		}
		for name, out := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
			if strings.ContainsAny(out, "\x1b\a\u202e") {
				t.Errorf("%s holds a raw control or bidi character: %q", name, out)
			}
		}
	})
}

func TestHostileNamesAreRefused(t *testing.T) {
	tests := []struct {
		name, field, value, shown string
		line                      int
	}{
		{"an ESC sequence in a name", "name", `"gw\e[2J\e]0;pwned\a"`, `"gw\x1b[2J\x1b]0;pwned\a"`, 4},
		{"a bidi override in a namespace", "namespace", `"book\u202Einfo"`, `"book\u202einfo"`, 5},
		{"an HTML comment and a mention in a name", "name", `"gw<!--@org/team"`, `"gw<!--@org/team"`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBadRepo(t)
			obj := map[string]string{"name": "gw", "namespace": "bookinfo"}
			obj[tt.field] = tt.value
			r.addResource("base", "base/gw.yaml", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: "+obj["name"]+"\n  namespace: "+obj["namespace"]+"\nspec:\n  selector: {istio: ingressgateway}\n")
			base := r.Commit("gateway")
			for _, args := range [][]string{
				{"render", filepath.Join(r.Dir, goodPath)},
				{"validate", filepath.Join(r.Dir, goodPath)},
				{"plan", r.Dir, "--base", base + "~1", "--head", base, "--path", goodPath, "-o", "markdown", "--cache-dir", t.TempDir()},
			} {
				res := reconciler(t, time.Minute, args...)
				if res.code != cli.ExitError {
					t.Errorf("%s exited %d, want 2", args[0], res.code)
				}
				want := regexp.MustCompile(fmt.Sprintf(`(?m)^error: (head \S+: )?base/gw\.yaml:%d: Gateway/\S+: metadata\.%s: invalid name %s: a lowercase RFC 1123`, tt.line, tt.field, regexp.QuoteMeta(tt.shown)))
				if !want.MatchString(res.stderr) {
					t.Errorf("%s: stderr does not match %s:\n%s", args[0], want, res.stderr)
				}
				for name, out := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
					if strings.ContainsAny(out, "\x1b\a\u202e") {
						t.Errorf("%s: %s holds a raw control or bidi character: %q", args[0], name, out)
					}
				}
			}
		})
	}
}

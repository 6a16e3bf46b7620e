package output

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlanMarkdownFitsAComment(t *testing.T) {
	p := bigPlan(t, 1000) // 2,000 changed objects
	if n := len(p.Changes); n != 2000 {
		t.Fatalf("fixture has %d changes, want 2000", n)
	}
	var b strings.Builder
	if err := WritePlan(&b, Markdown, p, Options{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if n := utf8.RuneCountInString(got); n > MaxComment {
		t.Fatalf("comment has %d characters, more than %d", n, MaxComment)
	}
	if n := len(got); n > MaxComment {
		t.Fatalf("comment has %d bytes, more than %d", n, MaxComment)
	}

	t.Run("the summary is intact", func(t *testing.T) {
		for _, want := range []string{
			"### meshintent plan: `overlays/prod` ❌ denied by policy",
			"`main@sha1:1111` → `canary@sha1:2222`",
			"| added | changed | removed | unchanged | denied | warnings | waived |",
			"| 0 | 2000 | 0 | 0 | 2 | 1 | 1 |",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("comment lacks %q", want)
			}
		}
	})
	t.Run("every policy result is there with its lines", func(t *testing.T) {
		for _, want := range []string{
			"| ❌ deny | `meshintent.weights` | `VirtualService/bookinfo/reviews` | `base/reviews.yaml:52`<br>`overlays/prod/weights.yaml:9` (overlay)<br>`spec.http[3].route` |",
			"`meshintent.tls`", "`meshintent.faults`", "`team.naming`",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("comment lacks %q", want)
			}
		}
		if strings.Contains(got, "more policy results") {
			t.Error("policy results were cut")
		}
	})
	t.Run("the traffic diagrams that fit are there and the rest counted", func(t *testing.T) {
		shown := strings.Count(got, "```mermaid")
		if shown == 0 {
			t.Fatal("no traffic diagram")
		}
		m := regexp.MustCompile(`\*\*(\d+) more traffic diagrams\*\* — see the full plan artifact\.`).FindStringSubmatch(got)
		if m == nil {
			t.Fatal("no line counting the diagrams left out")
		}
		if n, _ := strconv.Atoi(m[1]); n+shown != 1000 {
			t.Errorf("%d diagrams shown + %d left out, want 1000", shown, n)
		}
	})
	t.Run("objects are collapsed and cut with a visible line", func(t *testing.T) {
		shown := strings.Count(got, "<details><summary><b>changed</b>")
		m := regexp.MustCompile(`\*\*(\d+) more objects\*\* — see the full plan artifact\.\n$`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("comment does not end with the objects left out:\n%s", got[len(got)-300:])
		}
		if n, _ := strconv.Atoi(m[1]); n+shown != 2000 || n == 0 {
			t.Errorf("%d objects shown + %d left out, want 2000", shown, n)
		}
		if strings.Count(got, "<details") != strings.Count(got, "</details>") {
			t.Error("a <details> is not closed")
		}
	})
	t.Run("the artifact has everything", func(t *testing.T) {
		var full strings.Builder
		if err := WritePlan(&full, Markdown, p, Options{MaxMarkdown: -1}); err != nil {
			t.Fatal(err)
		}
		f := full.String()
		if n := strings.Count(f, "<details><summary><b>changed</b>"); n != 2000 {
			t.Errorf("artifact has %d objects, want 2000", n)
		}
		if n := strings.Count(f, "```mermaid"); n != 1000 {
			t.Errorf("artifact has %d diagrams, want 1000", n)
		}
		if strings.Contains(f, " more ") {
			t.Error("artifact was cut")
		}
	})
}

func TestMarkdownCapsEverySection(t *testing.T) {
	// Many results and a small cap: the results table is cut too, and the
	// document still keeps to the cap.
	p := bigPlan(t, 20)
	rep := report()
	for range 500 {
		rep.Results = append(rep.Results, rep.Results[0])
	}
	p.Report = rep
	for _, max := range []int{4000, 8000, 20000} {
		var b strings.Builder
		if err := WritePlan(&b, Markdown, p, Options{MaxMarkdown: max}); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		if len(got) > max {
			t.Errorf("cap %d: %d bytes", max, len(got))
		}
		for _, want := range []string{"| added | changed |", "more policy results** — see the full plan artifact.", "more objects** — see the full plan artifact."} {
			if !strings.Contains(got, want) {
				t.Errorf("cap %d: lacks %q", max, want)
			}
		}
	}
	var v strings.Builder
	if err := WriteValidation(&v, Markdown, Validation{Revision: "local", Path: "overlays/prod", Report: rep}, Options{MaxMarkdown: 5000}); err != nil {
		t.Fatal(err)
	}
	if len(v.String()) > 5000 || !strings.Contains(v.String(), "more policy results") {
		t.Errorf("validate comment of %d bytes, not cut:\n%s", len(v.String()), v.String())
	}
}

func TestMarkdownEscapesRepositoryText(t *testing.T) {
	p := bigPlan(t, 1)
	p.Changes[0].ID = "VirtualService/shop/<!--evil-->"
	p.Changes[0].Source = "base/@org/team.yaml"
	p.Changes[0].Diff = "+ name: x\n```\n<!-- comment -->\n@org/team\n"
	var b strings.Builder
	if err := WritePlan(&b, Markdown, p, Options{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, bad := range []string{"<!--", "@org/team"} {
		// Inside a fenced block GitHub renders text literally; outside one,
		// these must not appear raw.
		for _, part := range outsideFences(got) {
			if strings.Contains(part, bad) {
				t.Errorf("%q appears outside a code block:\n%s", bad, part)
			}
		}
	}
	// The hostile message is one table row: no line break leaked.
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "team.naming") && strings.Count(l, " | ")+2 < 6 {
			t.Errorf("the row broke: %q", l)
		}
	}
	if strings.Contains(got, "\r") {
		t.Error("a carriage return leaked")
	}
}

// outsideFences returns the parts of md outside fenced code blocks.
func outsideFences(md string) []string {
	var out []string
	var cur strings.Builder
	fence := ""
	for _, l := range strings.SplitAfter(md, "\n") {
		t := strings.TrimRight(l, "\n")
		switch {
		case fence == "" && strings.HasPrefix(t, "```"):
			fence = t[:len(t)-len(strings.TrimLeft(t, "`"))]
			out = append(out, cur.String())
			cur.Reset()
		case fence != "" && strings.TrimSpace(t) == fence:
			fence = ""
		case fence == "":
			cur.WriteString(l)
		}
	}
	return append(out, cur.String())
}

package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/markdown/markdowntest"
)

// evil is text a repository or a cluster can put in any field of a report.
const evil = "x<!-- hide | @org/team #1 `a` <img src=x onerror=alert(1)> [l](javascript:alert(1))\n# h\r\x1b[2J\u202e"

func hostileReport() *Report {
	r := New(Input{
		IntentSync:  "shop/" + evil,
		Source:      "https://git.example.com/" + evil,
		Revision:    "main@" + evil,
		GeneratedAt: generated,
		Drift: &apply.Report{
			Drifted:   []apply.FieldDiff{{ID: "VirtualService/shop/" + evil, Path: ".spec." + evil, Want: evil, Have: map[string]any{evil: evil}, Manager: evil}},
			Missing:   []apply.ObjectInfo{{ID: "DestinationRule/shop/" + evil, Source: evil}},
			Unmanaged: []apply.Unmanaged{{ObjectInfo: apply.ObjectInfo{ID: "VirtualService/shop/" + evil}, KialiWizard: evil, Managers: []string{evil}, Reason: evil}},
			Stale:     []apply.ObjectInfo{{ID: "Gateway/shop/" + evil, Source: evil}},
		},
		Conflicts: []Conflict{{ID: "VirtualService/shop/" + evil, Field: evil, Manager: evil}},
	})
	r.ConfigMap = "shop/" + evil
	r.Notes = []string{evil}
	return r
}

func TestHostileTextIsInert(t *testing.T) {
	r := hostileReport()

	t.Run("the Markdown report renders with every table row intact and no markup from the text", func(t *testing.T) {
		var md bytes.Buffer
		if err := r.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		out := markdowntest.HTML(t, md.String())
		for _, bad := range []string{"<!--", "<img", "<a ", "<h1>h", "\x1b", "\u202e", "\r"} {
			if strings.Contains(out, bad) {
				t.Errorf("rendered report contains %q:\n%s", bad, out)
			}
		}
		text := regexp.MustCompile(`(?s)<code>.*?</code>|<[^>]*>`).ReplaceAllString(out, "")
		if m := regexp.MustCompile(`@org|#1`).FindString(text); m != "" {
			t.Errorf("rendered text has a live mention %q", m)
		}
		// Every table keeps the column count of its header in every row.
		for _, table := range regexp.MustCompile(`(?s)<table>.*?</table>`).FindAllString(out, -1) {
			head := len(regexp.MustCompile(`<th[ >]`).FindAllString(table, -1))
			for _, row := range regexp.MustCompile(`(?s)<tbody>.*</tbody>`).FindAllString(table, -1) {
				for _, tr := range strings.Split(row, "<tr>")[1:] {
					if n := len(regexp.MustCompile(`<td[ >]`).FindAllString(tr, -1)); n != head {
						t.Errorf("a row has %d cells, the header %d:\n%s", n, head, tr)
					}
				}
			}
		}
		// The facts, the summary and one table for each of the five kinds
		// of finding: no text started or ended a table.
		if got, want := strings.Count(out, "<table>"), 7; got != want {
			t.Errorf("rendered %d tables, want %d:\n%s", got, want, out)
		}
	})
	t.Run("the Slack message has no mrkdwn markup and no control characters from the text", func(t *testing.T) {
		payload, err := r.SlackPayload()
		if err != nil {
			t.Fatal(err)
		}
		var msg SlackMessage
		if err := json.Unmarshal(payload, &msg); err != nil {
			t.Fatal(err)
		}
		texts := []string{msg.Text}
		for _, b := range msg.Blocks {
			if b.Text != nil && b.Text.Type == "plain_text" {
				// Slack shows plain text as is: only control characters matter.
				if strings.ContainsAny(b.Text.Text, "\x1b\r\n\u202e") {
					t.Errorf("Slack plain text holds a control character: %q", b.Text.Text)
				}
			} else if b.Text != nil {
				texts = append(texts, b.Text.Text)
			}
			for _, e := range b.Elements {
				texts = append(texts, e.Text)
			}
		}
		for _, s := range texts {
			if strings.ContainsAny(s, "<>\x1b\r\u202e") {
				t.Errorf("Slack text holds markup or a control character: %q", s)
			}
		}
	})
}

package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meshintent/meshintent/pkg/markdown"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

// Slack limits (https://api.slack.com/reference/block-kit/blocks).
const (
	slackHeaderLimit  = 150
	slackSectionLimit = 3000
	// slackFindingLines caps the findings listed in the message; the
	// ConfigMap has them all.
	slackFindingLines = 10
)

// SlackMessage is a Slack incoming-webhook message: a fallback text for
// notifications and Block Kit blocks. Other services that accept Slack's
// format (Mattermost, Rocket.Chat, Teams workflows) read "text".
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section or context block.
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a plain_text or mrkdwn text object.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Slack returns the short Slack message of the report: the summary line,
// up to 10 findings, and the revision and times, with a pointer to the
// ConfigMap holding the full report.
func (r *Report) Slack() SlackMessage {
	title := "Drift report"
	subject := "the cluster"
	if r.IntentSync != "" {
		title += ": " + r.IntentSync
		subject = "IntentSync " + r.IntentSync
	}
	text := fmt.Sprintf("Drift report for %s: %s (revision %s)", slackEscape(subject), r.Line(), slackEscape(orUnknown(r.Revision)))

	headline := ":white_check_mark: *In sync*: the cluster matches the last applied revision."
	if !r.Clean() {
		headline = ":warning: *" + slackEscape(capitalize(r.Line())) + "*"
	}
	blocks := []SlackBlock{
		{Type: "header", Text: &SlackText{Type: "plain_text", Text: markdown.Truncate(termsafe.Line(title), slackHeaderLimit)}},
		{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: markdown.Truncate(headline, slackSectionLimit)}},
	}
	if lines := r.slackFindings(); len(lines) > 0 {
		blocks = append(blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: lines}})
	}
	ctx := []string{"Revision " + slackCode(orUnknown(r.Revision))}
	if r.AppliedAt != nil {
		ctx = append(ctx, "applied "+formatTime(*r.AppliedAt))
	}
	ctx = append(ctx, "generated "+formatTime(r.GeneratedAt))
	if r.ConfigMap != "" {
		ctx = append(ctx, "full report in ConfigMap "+slackCode(r.ConfigMap))
	}
	blocks = append(blocks, SlackBlock{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: markdown.Truncate(strings.Join(ctx, " · "), slackSectionLimit)}}})
	return SlackMessage{Text: text, Blocks: blocks}
}

// SlackPayload returns Slack() as JSON, ready to POST to a webhook.
func (r *Report) SlackPayload() ([]byte, error) {
	return json.Marshal(r.Slack())
}

// slackFindings lists the first findings as mrkdwn bullets, within
// Slack's section limit.
func (r *Report) slackFindings() string {
	var lines []string
	for _, d := range r.Drifted {
		l := fmt.Sprintf("• %s %s: want %s, have %s", slackCode(d.ID), slackCode(d.Path), slackCode(markdown.Value(d.Want, valueLimit)), slackCode(markdown.Value(d.Have, valueLimit)))
		if d.Manager != "" {
			l += " (" + slackCode(d.Manager) + ")"
		}
		lines = append(lines, l)
	}
	for _, o := range r.Missing {
		lines = append(lines, "• "+slackCode(o.ID)+": missing")
	}
	for _, u := range r.Unmanaged {
		l := "• " + slackCode(u.ID) + ": unmanaged"
		if u.KialiWizard != "" {
			l += ", made by Kiali wizard " + slackCode(u.KialiWizard)
		}
		lines = append(lines, l)
	}
	for _, c := range r.Conflicts {
		lines = append(lines, fmt.Sprintf("• %s %s: owned by %s", slackCode(c.ID), slackCode(c.Field), slackCode(c.Manager)))
	}
	for _, o := range r.Stale {
		lines = append(lines, "• "+slackCode(o.ID)+": stale (left Git)")
	}
	total := len(lines)
	var b strings.Builder
	shown := 0
	for _, l := range lines {
		if shown == slackFindingLines || b.Len()+len(l)+1 > slackSectionLimit-100 {
			break
		}
		b.WriteString(l + "\n")
		shown++
	}
	if rest := total - shown; rest > 0 {
		fmt.Fprintf(&b, "…and %d more", rest)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// slackEscaper escapes the three characters mrkdwn reserves: without < no
// text can write a link, a user or channel mention or @here.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes s for mrkdwn: the reserved characters, and control,
// format and bidi characters as visible escapes (see termsafe), line breaks
// included.
func slackEscape(s string) string { return slackEscaper.Replace(termsafe.Line(s)) }

// slackCode puts s in an inline code span; a backtick, which would end it
// (mrkdwn has no escape), becomes a quote, and whitespace runs one space.
func slackCode(s string) string {
	return "`" + slackEscape(strings.ReplaceAll(oneLine(s), "`", "'")) + "`"
}

package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/meshintent/meshintent/pkg/validate"
)

// writeGitHub writes one GitHub Actions workflow command per result and
// location, so that the annotation shows on the intent line and on each
// overlay patch line that wrote the field:
//
//	::error file=base/reviews.yaml,line=52,title=meshintent.weights: VirtualService/bookinfo/reviews spec.http[3].route::weights sum to 90, not 100
//
// Denials are errors, warnings warnings, other results (waived) notices
// whose message starts "waived: " and ends with the waiver:
//
//	::notice file=base/ratings.yaml,line=20,title=…::waived: fault injection in production (until 2026-03-31 by meshintent.yaml:12: canary)
//
// A result without a file has no file property. Data and properties are
// percent-encoded as the runner decodes them (escapeData, escapeProperty),
// so repository text cannot end the command or start another.
func writeGitHub(w io.Writer, rs []validate.Result, opts Options) error {
	var b strings.Builder
	for _, r := range rs {
		cmd := "notice"
		switch levelOf(r) {
		case levelDeny:
			cmd = "error"
		case levelWarn:
			cmd = "warning"
		}
		locs := Locations(r)
		t := title(r)
		text := r.Message
		if r.Severity == validate.SeverityWaived {
			text = "waived: " + text
			if w := waiverText(r); w != "" {
				text += " (" + w + ")"
			}
		}
		if len(locs) == 0 {
			fmt.Fprintf(&b, "::%s title=%s::%s\n", cmd, escapeProperty(t), escapeData(text))
			continue
		}
		for i, l := range locs {
			msg := text
			if i > 0 {
				msg += " (value set here by an overlay)"
			}
			b.WriteString("::" + cmd + " file=" + escapeProperty(prefixed(opts.PathPrefix, l.File)))
			if l.Line > 0 {
				fmt.Fprintf(&b, ",line=%d", l.Line)
			}
			b.WriteString(",title=" + escapeProperty(t) + "::" + escapeData(msg) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeData encodes a workflow command's message as the runner's
// CommandExtensions do: % first, then CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty encodes a workflow command's property value: as data, and
// also ':' and ',' which would end the value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

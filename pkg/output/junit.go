package output

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/meshintent/meshintent/pkg/validate"
)

// JUnit XML, as GitLab and Jenkins read it: one testsuite per policy, one
// testcase per object (or intent) a policy reported on, named after the
// object and field and classed by policy. A denial is a <failure>, a waived
// result <skipped message="waived until … by …: reason">; a warning passes
// with its message in <system-out>.
// Every testcase's file and line are the intent's (GitLab shows them).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes rep as JUnit XML. A run without results is one passing
// testcase, so that the report is never empty.
func writeJUnit(w io.Writer, name string, rep *validate.Report, opts Options) error {
	doc := junitSuites{Name: name}
	byPolicy := map[string]*junitSuite{}
	var order []string
	for _, r := range rep.Results {
		s, ok := byPolicy[r.Policy]
		if !ok {
			s = &junitSuite{Name: r.Policy}
			byPolicy[r.Policy] = s
			order = append(order, r.Policy)
		}
		c := junitCase{Name: title(r), Classname: r.Policy}
		locs := Locations(r)
		if len(locs) > 0 {
			c.File, c.Line = prefixed(opts.PathPrefix, locs[0].File), locs[0].Line
		}
		var where []string
		for _, l := range locs {
			l.File = prefixed(opts.PathPrefix, l.File)
			where = append(where, Where(l))
		}
		body := fmt.Sprintf("%s\nobject: %s\nfield: %s\nrule: %s\nat: %s\n", r.Message, r.Object, r.Field, r.Rule, strings.Join(where, ", "))
		if d := opts.Descriptions[r.Policy]; d != "" {
			body += "policy: " + d + "\n"
		}
		switch levelOf(r) {
		case levelDeny:
			c.Failure = &junitMessage{Message: oneLine(r.Message), Type: "deny", Text: body}
			s.Failures++
		case levelWarn:
			c.SystemOut = "warning: " + body
		default:
			msg := oneLine(r.Message)
			if w := waiverText(r); w != "" {
				msg = "waived " + w
				body += "waived: " + w + "\n"
			}
			c.Skipped = &junitMessage{Message: msg, Text: body}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
	if len(order) == 0 {
		doc.Suites = []junitSuite{{Name: "meshintent", Tests: 1, Cases: []junitCase{{
			Name: fmt.Sprintf("%s from %s pass every policy", plural(rep.Objects, "object"), plural(rep.Intents, "intent")), Classname: "meshintent",
		}}}}
	}
	for _, p := range order {
		doc.Suites = append(doc.Suites, *byPolicy[p])
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

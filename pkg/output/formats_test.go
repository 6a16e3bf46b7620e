package output

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meshintent/meshintent/pkg/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestSARIFMatchesTheSchema(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sarif-2.1.0-rtm.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rep  *validate.Report
	}{
		{"denials, warnings and a waived result, through overlays", report()},
		{"no results", &validate.Report{Objects: 3, Intents: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteValidation(&b, SARIF, Validation{Path: "overlays/prod", Report: tc.rep}, Options{Descriptions: descriptions(), PathPrefix: "deploy/mesh"}); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, b.String())
			}
			var log sarifLog
			if err := json.Unmarshal(b.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			rules := map[string]sarifRule{}
			for _, r := range run.Tool.Driver.Rules {
				rules[r.ID] = r
			}
			// One rule per policy, built-ins included, each described.
			for _, p := range []string{"meshintent.weights", "meshintent.tls", "meshintent.subsets"} {
				if r, ok := rules[p]; !ok || r.FullDescription == nil || r.FullDescription.Text == "" {
					t.Errorf("rule %s missing or without a description: %+v", p, r)
				}
			}
			if len(run.Results) != len(tc.rep.Results) {
				t.Fatalf("%d results, want %d", len(run.Results), len(tc.rep.Results))
			}
			for i, res := range run.Results {
				if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
					t.Errorf("result %d: ruleIndex %d is not %s", i, res.RuleIndex, res.RuleID)
				}
			}
			if tc.rep.Results == nil {
				return
			}
			first := run.Results[0]
			want := []string{"deploy/mesh/base/reviews.yaml:52", "deploy/mesh/overlays/prod/weights.yaml:9"}
			var got []string
			for _, l := range append(first.Locations, first.RelatedLocations...) {
				got = append(got, l.PhysicalLocation.ArtifactLocation.URI+":"+strconv.Itoa(l.PhysicalLocation.Region.StartLine))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("locations of the denial (-want +got):\n%s", diff)
			}
			if rules["team.naming"].ShortDescription.Text != "Names follow the team's scheme." {
				t.Errorf("repository policy's description: %+v", rules["team.naming"])
			}
			levels := []string{first.Level, run.Results[2].Level, run.Results[3].Level}
			if diff := cmp.Diff([]string{"error", "warning", "note"}, levels); diff != "" {
				t.Errorf("levels (-want +got):\n%s", diff)
			}
			want2 := []sarifSuppress{{Kind: "external", Status: "accepted", Justification: "until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7"}}
			if diff := cmp.Diff(want2, run.Results[3].Suppressions); diff != "" {
				t.Errorf("the waived result's suppressions (-want +got):\n%s", diff)
			}
			for i, res := range run.Results[:3] {
				if res.Suppressions != nil {
					t.Errorf("result %d (%s) is suppressed: %+v", i, res.Level, res.Suppressions)
				}
			}
		})
	}
}

// workflowCommand is the grammar of a GitHub Actions workflow command for
// annotations: ::(error|warning|notice)[ key=value(,key=value)*]::message,
// where values escape %, CR, LF, ':' and ',' and the message %, CR and LF.
var workflowCommand = regexp.MustCompile(`^::(error|warning|notice)( ((file|line|endLine|col|endColumn|title)=[^,:\r\n]*)(,(file|line|endLine|col|endColumn|title)=[^,:\r\n]*)*)?::([^\r\n]*)$`)

func unescapeProperty(s string) string {
	return strings.NewReplacer("%3A", ":", "%2C", ",", "%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func TestGitHubWorkflowCommands(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlan(&b, GitHub, bigPlan(t, 1), Options{PathPrefix: "deploy"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	type annotation struct{ cmd, file, line, title, msg string }
	var got []annotation
	for _, l := range lines {
		m := workflowCommand.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a workflow command: %q", l)
		}
		a := annotation{cmd: m[1], msg: unescapeData(m[7])}
		props := strings.TrimPrefix(l[len("::"+m[1]):strings.LastIndex(l, "::"+m[7])], " ")
		for _, kv := range strings.Split(props, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "file":
				a.file = unescapeProperty(v)
			case "line":
				if _, err := strconv.Atoi(v); err != nil {
					t.Errorf("line %q is not a number", v)
				}
				a.line = v
			case "title":
				a.title = unescapeProperty(v)
			}
		}
		got = append(got, a)
	}
	want := []annotation{
		{"error", "deploy/base/reviews.yaml", "52", "meshintent.weights: VirtualService/bookinfo/reviews spec.http[3].route", "weights sum to 90, not 100"},
		{"error", "deploy/overlays/prod/weights.yaml", "9", "meshintent.weights: VirtualService/bookinfo/reviews spec.http[3].route", "weights sum to 90, not 100 (value set here by an overlay)"},
		{"error", "deploy/base/ratings, v1:x.yaml", "3", "team.naming: ServiceIntent/bookinfo/ratings metadata.name", hostile},
		{"warning", "deploy/base/reviews.yaml", "", "meshintent.tls: DestinationRule/bookinfo/reviews spec.trafficPolicy.tls.mode", "TLS is disabled"},
		{"notice", "deploy/base/ratings.yaml", "20", "meshintent.faults: VirtualService/bookinfo/ratings spec.http[0].fault", "waived: fault injection in production (until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7)"},
		{"notice", "", "", "meshintent plan overlays/prod", "0 added, 2 changed, 0 removed, 0 unchanged; 2 denied, 1 warning, 1 waived"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(annotation{})); diff != "" {
		t.Errorf("annotations, decoded (-want +got):\n%s", diff)
	}
}

func TestJUnit(t *testing.T) {
	for _, tc := range []struct {
		name                             string
		rep                              *validate.Report
		suites, tests, failures, skipped int
	}{
		{"one suite per policy, denials fail, waived skip", report(), 4, 4, 2, 1},
		{"a clean run is one passing test", &validate.Report{Objects: 3, Intents: 1}, 1, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteValidation(&b, JUnit, Validation{Path: "overlays/prod", Report: tc.rep}, Options{Descriptions: descriptions()}); err != nil {
				t.Fatal(err)
			}
			var doc junitSuites
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("not XML: %v\n%s", err, b.String())
			}
			var tests, failures, skipped int
			for _, s := range doc.Suites {
				if s.Tests != len(s.Cases) {
					t.Errorf("suite %s says %d tests, has %d", s.Name, s.Tests, len(s.Cases))
				}
				for _, c := range s.Cases {
					tests++
					if c.Failure != nil {
						failures++
					}
					if c.Skipped != nil {
						skipped++
					}
				}
			}
			got := []int{len(doc.Suites), tests, failures, skipped, doc.Tests, doc.Failures, doc.Skipped}
			want := []int{tc.suites, tc.tests, tc.failures, tc.skipped, tc.tests, tc.failures, tc.skipped}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("suites, tests, failures, skipped, and the totals (-want +got):\n%s", diff)
			}
			if tc.rep.Results != nil {
				c := doc.Suites[0].Cases[0]
				if c.File != "base/reviews.yaml" || c.Line != 52 || !strings.Contains(c.Failure.Text, "overlays/prod/weights.yaml:9") {
					t.Errorf("first case %+v", c)
				}
				// The hostile message survives the round trip, bar the CR
				// that XML normalises.
				if m := doc.Suites[1].Cases[0].Failure.Message; m != oneLine(hostile) {
					t.Errorf("message %q", m)
				}
			}
		})
	}
}

func TestJSONGolden(t *testing.T) {
	p := bigPlan(t, 1)
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"validate.golden.json", func(b *bytes.Buffer) error {
			return WriteValidation(b, JSON, Validation{Revision: "main@sha1:1111", Path: "overlays/prod", Report: report()}, Options{})
		}},
		{"validate-clean.golden.json", func(b *bytes.Buffer) error {
			return WriteValidation(b, JSON, Validation{Revision: "local", Path: ".", Report: &validate.Report{Objects: 2, Intents: 1}}, Options{})
		}},
		{"plan.golden.json", func(b *bytes.Buffer) error { return WritePlan(b, JSON, p, Options{}) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.file, diff)
			}
			var head struct{ APIVersion, Kind string }
			if err := json.Unmarshal(b.Bytes(), &head); err != nil || head.APIVersion != APIVersion || head.Kind == "" {
				t.Errorf("apiVersion %q kind %q: %v", head.APIVersion, head.Kind, err)
			}
		})
	}
}

// TestWaivedResultsShowTheirWaiver writes the fixture's waived denial in
// every format and checks that each shows it as waived, with its reason,
// expiry and author, and counts it apart from denials.
func TestWaivedResultsShowTheirWaiver(t *testing.T) {
	for _, tc := range []struct {
		format Format
		want   []string
	}{
		{JSON, []string{
			`"waived": 1,`,
			`"severity": "waived"`,
			`"waived": {
        "reason": "chaos drill, ticket OPS-7",
        "expires": "2026-03-31T00:00:00Z",
        "by": "meshintent.yaml:12"
      }`,
		}},
		{SARIF, []string{`"suppressions": [
            {
              "kind": "external",
              "status": "accepted",
              "justification": "until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7"
            }
          ]`}},
		{JUnit, []string{
			`<skipped message="waived until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7">`,
			`skipped="1"`,
		}},
		{GitHub, []string{
			"::notice file=base/ratings.yaml,line=20,title=meshintent.faults%3A VirtualService/bookinfo/ratings spec.http[0].fault::waived: fault injection in production (until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7)\n",
		}},
		{Markdown, []string{
			"| objects | intents | denied | warnings | waived |",
			"| 11 | 6 | 2 | 1 | 1 |",
			"| ⏸️ waived | `meshintent.faults` | `VirtualService/bookinfo/ratings` | `base/ratings.yaml:20`<br>`spec.http[0].fault` | fault injection in production<br>*waived until 2026-03-31 by meshintent.yaml:12: chaos drill, ticket OPS-7* |",
		}},
	} {
		t.Run(string(tc.format)+" shows the waiver", func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteValidation(&b, tc.format, Validation{Revision: "local", Path: "overlays/prod", Report: report()}, Options{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	t.Run("a waiver without expiry or author shows its reason alone", func(t *testing.T) {
		r := validate.Result{Severity: validate.SeverityWaived, Waived: &validate.Waiver{Reason: "legacy\nservice"}}
		if got := waiverText(r); got != "legacy service" {
			t.Errorf("waiverText = %q", got)
		}
		r.Waived.Expires = time.Date(2026, 3, 31, 18, 30, 0, 0, time.FixedZone("CET", 3600))
		if got := waiverText(r); got != "until 2026-03-31T17:30:00Z: legacy service" {
			t.Errorf("waiverText = %q", got)
		}
	})
}

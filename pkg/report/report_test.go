package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/apply"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	generated = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	applied   = time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC)
)

// sampleInput is a report with one finding of every kind, given unsorted.
func sampleInput() Input {
	vs := apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: "shop", Name: "reviews"}
	dr := apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule", Namespace: "shop", Name: "ratings"}
	wiz := apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: "shop", Name: "details"}
	old := apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: "shop", Name: "legacy"}
	return Input{
		IntentSync:  "shop/mesh",
		Source:      "https://deploy:s3cr3t-token@git.example.com/mesh.git?private_token=s3cr3t-token",
		Revision:    "main@sha1:0123456789abcdef0123456789abcdef01234567",
		AppliedAt:   applied,
		GeneratedAt: generated.Add(400 * time.Millisecond),
		Drift: &apply.Report{
			Drifted: []apply.FieldDiff{
				{ID: vs.ID(), Source: "reviews.yaml", Path: ".spec.http[0].route[0].weight", Pointer: "/spec/http/0/route/0/weight", Want: int64(80), Have: int64(50), Manager: "kubectl-edit"},
				{ID: vs.ID(), Source: "reviews.yaml", Path: ".spec.http[0].route[1].weight", Pointer: "/spec/http/0/route/1/weight", Want: int64(20), Have: int64(50), Manager: "kubectl-edit"},
			},
			Missing:   []apply.ObjectInfo{{ID: dr.ID(), Object: dr, Source: "ratings.yaml"}},
			Unmanaged: []apply.Unmanaged{{ObjectInfo: apply.ObjectInfo{ID: wiz.ID(), Object: wiz}, KialiWizard: "request_routing", Managers: []string{"kiali"}, Reason: "no managed-by label"}},
			Stale:     []apply.ObjectInfo{{ID: old.ID(), Object: old, Source: "legacy.yaml"}},
		},
		Conflicts: []Conflict{{ID: vs.ID(), Source: "reviews.yaml", Field: ".spec.http", Manager: "kubectl-edit"}},
	}
}

func TestNew(t *testing.T) {
	t.Run("counts every kind of finding and the objects they are in", func(t *testing.T) {
		r := New(sampleInput())
		want := Summary{Drifted: 2, DriftedObjects: 1, Missing: 1, Unmanaged: 1, KialiWizard: 1, Stale: 1, Conflicts: 1, ConflictObjects: 1}
		if diff := cmp.Diff(want, r.Summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		if r.Clean() {
			t.Error("Clean() = true for a report with findings")
		}
	})
	t.Run("a report without findings is clean and its lists are empty, not nil", func(t *testing.T) {
		r := New(Input{Revision: "local", Drift: &apply.Report{}})
		if !r.Clean() || r.Line() != "in sync" {
			t.Errorf("Clean() = %t, Line() = %q; want true, in sync", r.Clean(), r.Line())
		}
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"drifted": []`, `"missing": []`, `"unmanaged": []`, `"stale": []`, `"conflicts": []`} {
			if !strings.Contains(b.String(), key) {
				t.Errorf("JSON lacks %s:\n%s", key, b.String())
			}
		}
	})
	t.Run("findings are sorted by object and times are UTC seconds", func(t *testing.T) {
		in := sampleInput()
		in.Drift.Missing = append(in.Drift.Missing, apply.ObjectInfo{ID: "DestinationRule/shop/a"})
		in.Conflicts = append(in.Conflicts, Conflict{ID: "DestinationRule/shop/a", Field: ".spec", Manager: "x"})
		in.GeneratedAt = generated.In(time.FixedZone("CET", 3600)).Add(300 * time.Millisecond)
		r := New(in)
		var got []string
		for _, o := range r.Missing {
			got = append(got, o.ID)
		}
		for _, c := range r.Conflicts {
			got = append(got, c.ID)
		}
		want := []string{"DestinationRule/shop/a", "DestinationRule/shop/ratings", "DestinationRule/shop/a", "VirtualService/shop/reviews"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("missing then conflicts (-want +got):\n%s", diff)
		}
		if !r.GeneratedAt.Equal(generated) || r.GeneratedAt.Location() != time.UTC {
			t.Errorf("GeneratedAt = %s, want %s", r.GeneratedAt, generated)
		}
	})
}

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{"nothing found reads in sync", Summary{}, "in sync"},
		{"one of each is singular", Summary{Drifted: 1, DriftedObjects: 1, Missing: 1, Unmanaged: 1, Stale: 1, Conflicts: 1},
			"1 field drifted in 1 object, 1 object missing, 1 unmanaged object, 1 stale object, 1 field owned by another manager"},
		{"several are plural and Kiali wizard objects are called out", Summary{Drifted: 3, DriftedObjects: 2, Unmanaged: 2, KialiWizard: 1, Conflicts: 2},
			"3 fields drifted in 2 objects, 2 unmanaged objects (1 made by a Kiali wizard), 2 fields owned by other managers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Line(); got != tt.want {
				t.Errorf("Line() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"credentials and query are removed from https", "https://user:tok@git.example.com/org/repo.git?token=x#frag", "https://git.example.com/org/repo.git"},
		{"a plain URL is kept", "http://127.0.0.1:8080/repo", "http://127.0.0.1:8080/repo"},
		{"the user is removed from ssh", "ssh://git@host:2222/org/repo.git", "ssh://host:2222/org/repo.git"},
		{"an scp-like address loses its user", "git@github.com:org/repo.git", "github.com:org/repo.git"},
		{"a file URL is kept", "file:///tmp/repo", "file:///tmp/repo"},
		{"a local path is kept", "/tmp/some@dir/repo", "/tmp/some@dir/repo"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestConflictsOf(t *testing.T) {
	t.Run("every conflict of every object is collected and other failures become notes", func(t *testing.T) {
		err := &apply.DryRunError{Total: 3, Failures: []*apply.ObjectError{
			{ID: "VirtualService/shop/reviews", Source: "reviews.yaml", Op: "dry-run failed", Err: &apply.ConflictError{Conflicts: []apply.Conflict{
				{Manager: "kubectl-edit", Field: ".spec.http"}, {Manager: "kiali", Field: ".spec.hosts"},
			}}},
			{ID: "DestinationRule/shop/reviews", Source: "reviews.yaml", Op: "dry-run failed", Err: &apply.ConflictError{Conflicts: []apply.Conflict{
				{Manager: "helm", Field: ".spec.subsets"},
			}}},
			{ID: "Sidecar/shop/default", Source: "sidecar.yaml", Op: "dry-run failed", Err: errors.New("spec.egress: Invalid value")},
		}}
		conflicts, notes, gotErr := conflictsOf(fmt.Errorf("wrapped: %w", err))
		if gotErr != nil {
			t.Fatalf("error: %v", gotErr)
		}
		want := []Conflict{
			{ID: "VirtualService/shop/reviews", Source: "reviews.yaml", Field: ".spec.http", Manager: "kubectl-edit"},
			{ID: "VirtualService/shop/reviews", Source: "reviews.yaml", Field: ".spec.hosts", Manager: "kiali"},
			{ID: "DestinationRule/shop/reviews", Source: "reviews.yaml", Field: ".spec.subsets", Manager: "helm"},
		}
		if diff := cmp.Diff(want, conflicts); diff != "" {
			t.Errorf("conflicts (-want +got):\n%s", diff)
		}
		wantNotes := []string{"Sidecar/shop/default (sidecar.yaml): dry-run failed: spec.egress: Invalid value"}
		if diff := cmp.Diff(wantNotes, notes); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
	t.Run("a dry-run without failures has no conflicts", func(t *testing.T) {
		conflicts, notes, err := conflictsOf(nil)
		if err != nil || len(conflicts) != 0 || conflicts == nil || notes != nil {
			t.Errorf("conflictsOf(nil) = %#v, %#v, %v; want an empty list", conflicts, notes, err)
		}
	})
	t.Run("any other error is returned", func(t *testing.T) {
		if _, _, err := conflictsOf(errors.New("connection refused")); err == nil {
			t.Error("no error")
		}
	})
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestWriters(t *testing.T) {
	r := New(sampleInput())
	r.ConfigMap = "shop/mesh-drift-report"

	t.Run("the Markdown report has the headline, the facts and a table per finding", func(t *testing.T) {
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, "report.md", b.Bytes())
	})
	t.Run("the JSON report round-trips", func(t *testing.T) {
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, "report.json", b.Bytes())
		var back Report
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r.Summary, back.Summary); diff != "" {
			t.Errorf("summary after a round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("the Slack payload is text plus header, summary, findings and context blocks", func(t *testing.T) {
		b, err := r.SlackPayload()
		if err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		golden(t, "slack.json", append(pretty.Bytes(), '\n'))
		var msg map[string]any
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, blk := range msg["blocks"].([]any) {
			types = append(types, blk.(map[string]any)["type"].(string))
		}
		if diff := cmp.Diff([]string{"header", "section", "section", "context"}, types); diff != "" {
			t.Errorf("block types (-want +got):\n%s", diff)
		}
	})
	t.Run("no output holds the credentials of the source URL", func(t *testing.T) {
		var md, js bytes.Buffer
		_ = r.WriteMarkdown(&md)
		_ = r.WriteJSON(&js)
		slack, _ := r.SlackPayload()
		for name, out := range map[string]string{"markdown": md.String(), "json": js.String(), "slack": string(slack)} {
			if strings.Contains(out, "s3cr3t") || strings.Contains(out, "deploy:") {
				t.Errorf("%s output holds a credential:\n%s", name, out)
			}
		}
	})
	t.Run("a clean report says in sync everywhere", func(t *testing.T) {
		c := New(Input{IntentSync: "shop/mesh", Revision: "main@sha1:abc", GeneratedAt: generated, Drift: &apply.Report{}})
		var md bytes.Buffer
		if err := c.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		slack := c.Slack()
		if !strings.Contains(md.String(), "**In sync**") || strings.Contains(md.String(), "## ") {
			t.Errorf("markdown of a clean report:\n%s", md.String())
		}
		if want := "Drift report for IntentSync shop/mesh: in sync (revision main@sha1:abc)"; slack.Text != want {
			t.Errorf("Slack text = %q, want %q", slack.Text, want)
		}
		if len(slack.Blocks) != 3 {
			t.Errorf("Slack blocks = %d, want header, summary and context only", len(slack.Blocks))
		}
	})
}

func TestSlackLimits(t *testing.T) {
	in := Input{IntentSync: "shop/mesh", GeneratedAt: generated, Drift: &apply.Report{}}
	long := strings.Repeat("x", 5000)
	for i := range 40 {
		in.Drift.Drifted = append(in.Drift.Drifted, apply.FieldDiff{ID: fmt.Sprintf("VirtualService/shop/vs-%02d", i), Path: ".spec.hosts[0]", Want: long, Have: "<b>&"})
	}
	msg := New(in).Slack()

	t.Run("at most ten findings are listed, then how many more", func(t *testing.T) {
		lines := strings.Split(msg.Blocks[2].Text.Text, "\n")
		if len(lines) != 11 || lines[10] != "…and 30 more" {
			t.Errorf("findings block has %d lines, the last %q; want 10 findings and …and 30 more", len(lines), lines[len(lines)-1])
		}
	})
	t.Run("every text stays within Slack's limits and mrkdwn is escaped", func(t *testing.T) {
		for i, b := range msg.Blocks {
			if b.Text != nil && len(b.Text.Text) > slackSectionLimit {
				t.Errorf("block %d is %d bytes", i, len(b.Text.Text))
			}
		}
		if f := msg.Blocks[2].Text.Text; !strings.Contains(f, "&lt;b&gt;&amp;") || strings.Contains(f, "<b>") {
			t.Errorf("findings are not escaped: %.300s", f)
		}
	})
}

func TestTrimmed(t *testing.T) {
	in := sampleInput()
	for i := range 5 {
		in.Drift.Missing = append(in.Drift.Missing, apply.ObjectInfo{ID: fmt.Sprintf("VirtualService/shop/m%d", i)})
	}
	r := New(in)

	t.Run("long lists are cut with a note and the counts stay whole", func(t *testing.T) {
		got := r.Trimmed(2)
		if len(got.Missing) != 2 || got.Summary.Missing != 6 {
			t.Errorf("missing listed %d, counted %d; want 2 and 6", len(got.Missing), got.Summary.Missing)
		}
		if diff := cmp.Diff([]string{"4 of 6 missing objects are not listed"}, got.Notes); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
		if len(r.Missing) != 6 || len(r.Notes) != 0 {
			t.Error("Trimmed changed the original report")
		}
	})
	t.Run("a report within the limit is returned as it is", func(t *testing.T) {
		if got := r.Trimmed(10); got != r {
			t.Error("Trimmed(10) made a copy")
		}
	})
}

// Package report builds drift reports: how a cluster differs from the
// revision an IntentSync (or a directory) last applied, as plain data that
// renders to Markdown, JSON and a short Slack message.
//
// A Report combines apply.Manager.Drift (drifted fields with the manager
// that changed them, missing, unmanaged and stale objects) with the fields
// other field managers own that meshintent wants, found by a server-side
// dry-run apply without force. Compute does both against a cluster; New
// assembles a Report from results obtained elsewhere.
//
// Nothing secret is ever put in a Report: the source URL loses its user
// information, query and fragment (RedactURL), and webhook URLs are no
// part of it.
package report

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/meshintent/meshintent/pkg/apply"
)

// Report is one drift report. Every list is sorted and, in JSON, empty
// rather than null.
type Report struct {
	// IntentSync is "namespace/name" of the IntentSync reported on; empty
	// for a report on a directory or repository.
	IntentSync string `json:"intentSync,omitempty"`
	// Source is the Git repository URL without credentials.
	Source string `json:"source,omitempty"`
	// Revision is the revision compared with the cluster: the IntentSync's
	// last applied revision, e.g. "main@sha1:…", or "local".
	Revision string `json:"revision,omitempty"`
	// AppliedAt is when Revision was applied; nil when unknown.
	AppliedAt *time.Time `json:"appliedAt,omitempty"`
	// GeneratedAt is when the report was made.
	GeneratedAt time.Time `json:"generatedAt"`
	// ConfigMap is "namespace/name" of the ConfigMap holding the full
	// report, when the controller stored it in one.
	ConfigMap string `json:"configMap,omitempty"`
	// Summary counts the findings.
	Summary Summary `json:"summary"`
	// Report is apply.Manager.Drift's result as it gave it (its lists
	// sorted by object): drifted fields, missing, unmanaged and stale
	// objects, in JSON as the report's own "drifted", "missing",
	// "unmanaged" and "stale". Its InSync leaves Conflicts out; Clean
	// counts them.
	apply.Report
	// Conflicts are the fields other field managers own with values other
	// than Git's: an apply without force would fail on them.
	Conflicts []Conflict `json:"conflicts"`
	// Notes say what the report could not cover, e.g. an object whose
	// dry-run failed for another reason than a conflict.
	Notes []string `json:"notes,omitempty"`
}

// Summary counts a report's findings.
type Summary struct {
	// Drifted counts drifted fields; DriftedObjects the objects they are in.
	Drifted        int `json:"drifted"`
	DriftedObjects int `json:"driftedObjects"`
	Missing        int `json:"missing"`
	Unmanaged      int `json:"unmanaged"`
	// KialiWizard counts the unmanaged objects made by Kiali's wizards.
	KialiWizard int `json:"kialiWizard"`
	Stale       int `json:"stale"`
	// Conflicts counts conflicting fields; ConflictObjects the objects.
	Conflicts       int `json:"conflicts"`
	ConflictObjects int `json:"conflictObjects"`
}

// Conflict is one field of one object that another field manager owns with
// a value different from Git's.
type Conflict struct {
	// ID is the object's Kind/namespace/name.
	ID string `json:"id"`
	// Source is the repo-relative file the object came from.
	Source string `json:"source,omitempty"`
	// Field is the field path as the API server reports it, e.g. ".spec.http".
	Field string `json:"field"`
	// Manager is the other field manager, e.g. "kubectl-edit".
	Manager string `json:"manager"`
}

// Input is what New builds a Report from.
type Input struct {
	// IntentSync is "namespace/name", or empty.
	IntentSync string
	// Source is a Git URL; New removes any credentials from it.
	Source string
	// Revision compared, and when it was applied (zero when unknown).
	Revision  string
	AppliedAt time.Time
	// GeneratedAt is the report's time; zero means time.Now().
	GeneratedAt time.Time
	// Drift is apply.Manager.Drift's result; nil means nothing was checked.
	Drift *apply.Report
	// Conflicts found by a dry-run apply without force (see FindConflicts).
	Conflicts []Conflict
	// Notes are added to the report as they are.
	Notes []string
}

// New assembles a Report from in: it copies and sorts the findings and
// counts them. in is not modified.
func New(in Input) *Report {
	r := &Report{
		IntentSync:  in.IntentSync,
		Source:      RedactURL(in.Source),
		Revision:    in.Revision,
		GeneratedAt: in.GeneratedAt,
		Report:      apply.Report{Drifted: []apply.FieldDiff{}, Missing: []apply.ObjectInfo{}, Unmanaged: []apply.Unmanaged{}, Stale: []apply.ObjectInfo{}},
		Conflicts:   slices.Clone(in.Conflicts),
		Notes:       slices.Clone(in.Notes),
	}
	if r.GeneratedAt.IsZero() {
		r.GeneratedAt = time.Now()
	}
	r.GeneratedAt = r.GeneratedAt.UTC().Truncate(time.Second)
	if !in.AppliedAt.IsZero() {
		t := in.AppliedAt.UTC()
		r.AppliedAt = &t
	}
	if d := in.Drift; d != nil {
		r.Drifted = append(r.Drifted, d.Drifted...)
		r.Missing = append(r.Missing, d.Missing...)
		r.Unmanaged = append(r.Unmanaged, d.Unmanaged...)
		r.Stale = append(r.Stale, d.Stale...)
	}
	if r.Conflicts == nil {
		r.Conflicts = []Conflict{}
	}
	// Drift reports fields in set order, which is sorted by object; keep
	// the field order within an object as Drift gave it.
	slices.SortStableFunc(r.Drifted, func(a, b apply.FieldDiff) int { return cmp.Compare(a.ID, b.ID) })
	byID := func(a, b apply.ObjectInfo) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(r.Missing, byID)
	slices.SortFunc(r.Stale, byID)
	slices.SortFunc(r.Unmanaged, func(a, b apply.Unmanaged) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(r.Conflicts, func(a, b Conflict) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Manager, b.Manager))
	})
	r.Summary = count(r)
	return r
}

func count(r *Report) Summary {
	s := Summary{
		Drifted:   len(r.Drifted),
		Missing:   len(r.Missing),
		Unmanaged: len(r.Unmanaged),
		Stale:     len(r.Stale),
		Conflicts: len(r.Conflicts),
	}
	objects := map[string]bool{}
	for _, d := range r.Drifted {
		objects[d.ID] = true
	}
	s.DriftedObjects = len(objects)
	clear(objects)
	for _, c := range r.Conflicts {
		objects[c.ID] = true
	}
	s.ConflictObjects = len(objects)
	for _, u := range r.Unmanaged {
		if u.KialiWizard != "" {
			s.KialiWizard++
		}
	}
	return s
}

// Clean reports whether nothing was found: no drifted field, no missing,
// unmanaged or stale object and no conflict.
func (r *Report) Clean() bool {
	s := r.Summary
	return s.Drifted == 0 && s.Missing == 0 && s.Unmanaged == 0 && s.Stale == 0 && s.Conflicts == 0
}

// Line is a one-line summary, e.g. "2 fields drifted in 1 object, 1 object
// missing, 1 unmanaged object (1 made by a Kiali wizard), 1 field owned by
// another manager", or "in sync".
func (s Summary) Line() string {
	var parts []string
	if s.Drifted > 0 {
		parts = append(parts, fmt.Sprintf("%s drifted in %s", n(s.Drifted, "field", "fields"), n(s.DriftedObjects, "object", "objects")))
	}
	if s.Missing > 0 {
		parts = append(parts, n(s.Missing, "object", "objects")+" missing")
	}
	if s.Unmanaged > 0 {
		p := n(s.Unmanaged, "unmanaged object", "unmanaged objects")
		if s.KialiWizard > 0 {
			p += fmt.Sprintf(" (%d made by a Kiali wizard)", s.KialiWizard)
		}
		parts = append(parts, p)
	}
	if s.Stale > 0 {
		parts = append(parts, n(s.Stale, "stale object", "stale objects"))
	}
	if s.Conflicts > 0 {
		parts = append(parts, n(s.Conflicts, "field owned by another manager", "fields owned by other managers"))
	}
	if len(parts) == 0 {
		return "in sync"
	}
	return strings.Join(parts, ", ")
}

// Line is the summary line of the report (Summary.Line).
func (r *Report) Line() string { return r.Summary.Line() }

// Trimmed returns a copy of r with each list cut to at most max entries and
// a note saying how many were left out; the summary keeps the full counts.
// r itself is returned when nothing needs cutting.
func (r *Report) Trimmed(max int) *Report {
	if len(r.Drifted) <= max && len(r.Missing) <= max && len(r.Unmanaged) <= max && len(r.Stale) <= max && len(r.Conflicts) <= max {
		return r
	}
	c := *r
	c.Notes = slices.Clone(r.Notes)
	cut := func(n int, what string) int {
		if n <= max {
			return n
		}
		c.Notes = append(c.Notes, fmt.Sprintf("%d of %d %s are not listed", n-max, n, what))
		return max
	}
	c.Drifted = r.Drifted[:cut(len(r.Drifted), "drifted fields")]
	c.Missing = r.Missing[:cut(len(r.Missing), "missing objects")]
	c.Unmanaged = r.Unmanaged[:cut(len(r.Unmanaged), "unmanaged objects")]
	c.Stale = r.Stale[:cut(len(r.Stale), "stale objects")]
	c.Conflicts = r.Conflicts[:cut(len(r.Conflicts), "conflicting fields")]
	return &c
}

// RedactURL returns a repository URL fit for a report: user information,
// query and fragment are removed. A string that does not parse as a URL
// with a scheme (a local path, an scp-like "git@host:org/repo") loses
// everything before an "@" in its host part.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && (u.Host != "" || u.Scheme == "file") {
		u.User, u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = nil, "", "", "", false
		return u.String()
	}
	if at := strings.LastIndex(raw, "@"); at >= 0 && !strings.Contains(raw[:at], "/") {
		return raw[at+1:]
	}
	return raw
}

func n(count int, one, many string) string {
	if count == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", count, many)
}

package apply

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/meshintent/meshintent/pkg/markdown"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

// Report is the result of Drift: how the cluster differs from Git. Every
// list is sorted and empty (never null) in JSON.
type Report struct {
	// Drifted lists the fields set in Git whose live value differs, in set
	// order and then field order.
	Drifted []FieldDiff `json:"drifted"`
	// Missing lists the objects of the set that do not exist.
	Missing []ObjectInfo `json:"missing"`
	// Unmanaged lists Istio objects in managed namespaces that are not
	// managed through Git.
	Unmanaged []Unmanaged `json:"unmanaged"`
	// Stale lists objects meshintent applied that are no longer in Git and
	// still exist: the next apply with prune removes them.
	Stale []ObjectInfo `json:"stale"`
}

// FieldDiff is one field whose live value differs from Git.
type FieldDiff struct {
	// ID is the object's Kind/namespace/name.
	ID string `json:"id"`
	// Source is the repo-relative file the object came from.
	Source string `json:"source,omitempty"`
	// Path is the field, e.g. .spec.http[0].route[1].weight.
	Path string `json:"path"`
	// Pointer is the same field as a JSON pointer, as IgnoreRule takes it:
	// /spec/http/0/route/1/weight.
	Pointer string `json:"pointer"`
	// Want is the value in Git; null when the field is only live.
	Want any `json:"want"`
	// Have is the live value; null when the field is missing live.
	Have any `json:"have"`
	// Manager is the field manager owning the live value, preferring one
	// that is not meshintent; empty when nobody owns it.
	Manager string `json:"manager,omitempty"`
}

// ObjectInfo names an object and, when known, its source file.
type ObjectInfo struct {
	ID     string    `json:"id"`
	Object ObjectRef `json:"object"`
	Source string    `json:"source,omitempty"`
}

// Unmanaged is an Istio object in a managed namespace that Git does not manage.
type Unmanaged struct {
	ObjectInfo
	// KialiWizard is the value of the kiali_wizard label, naming the Kiali
	// wizard that created the object; empty when Kiali did not.
	KialiWizard string `json:"kialiWizard,omitempty"`
	// Managers are the field managers in the object's managedFields.
	Managers []string `json:"managers,omitempty"`
	// Reason says why the object counts as unmanaged.
	Reason string `json:"reason"`
}

// InSync reports whether the cluster matches Git: no drifted field, no
// missing, unmanaged or stale object.
func (r *Report) InSync() bool {
	return len(r.Drifted) == 0 && len(r.Missing) == 0 && len(r.Unmanaged) == 0 && len(r.Stale) == 0
}

// Summary is a one-line count, e.g. "2 fields drifted, 1 object missing",
// or "in sync".
func (r *Report) Summary() string {
	if r.InSync() {
		return "in sync"
	}
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(len(r.Drifted), "field drifted", "fields drifted")
	add(len(r.Missing), "object missing", "objects missing")
	add(len(r.Unmanaged), "unmanaged object", "unmanaged objects")
	add(len(r.Stale), "stale object", "stale objects")
	return strings.Join(parts, ", ")
}

// WithLists returns a copy of r whose nil lists are empty, so that JSON
// shows [] rather than null for a Report built by hand. The lists are
// shared with r.
func (r Report) WithLists() Report {
	if r.Drifted == nil {
		r.Drifted = []FieldDiff{}
	}
	if r.Missing == nil {
		r.Missing = []ObjectInfo{}
	}
	if r.Unmanaged == nil {
		r.Unmanaged = []Unmanaged{}
	}
	if r.Stale == nil {
		r.Stale = []ObjectInfo{}
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.WithLists())
}

// WriteText writes the report for a terminal, with control and bidi
// characters from names, paths and values escaped (see termsafe).
func (r *Report) WriteText(w io.Writer) error {
	ew := markdown.NewWriter(termsafe.NewWriter(w))
	ew.Printf("%s\n", r.Summary())
	if len(r.Drifted) > 0 {
		ew.Printf("\ndrifted:\n")
		last := ""
		for _, d := range r.Drifted {
			if d.ID != last {
				ew.Printf("  %s\n", withSource(d.ID, d.Source))
				last = d.ID
			}
			ew.Printf("    %s: want %s, have %s%s\n", d.Path, markdown.Value(d.Want, 0), markdown.Value(d.Have, 0), byManager(d.Manager))
		}
	}
	if len(r.Missing) > 0 {
		ew.Printf("\nmissing:\n")
		for _, o := range r.Missing {
			ew.Printf("  %s\n", withSource(o.ID, o.Source))
		}
	}
	if len(r.Unmanaged) > 0 {
		ew.Printf("\nunmanaged:\n")
		for _, u := range r.Unmanaged {
			ew.Printf("  %s: %s\n", u.ID, u.describe())
		}
	}
	if len(r.Stale) > 0 {
		ew.Printf("\nstale (pruned by the next apply with prune):\n")
		for _, o := range r.Stale {
			ew.Printf("  %s\n", withSource(o.ID, o.Source))
		}
	}
	return ew.Err()
}

// WriteMarkdown writes the report as Markdown, e.g. for a pull request comment.
func (r *Report) WriteMarkdown(w io.Writer) error {
	ew := markdown.NewWriter(w)
	ew.Printf("**Drift: %s**\n", r.Summary())
	if len(r.Drifted) > 0 {
		ew.Printf("\n### Drifted fields\n\n")
		ew.Table("Object", "Source", "Field", "Want", "Have", "Manager")
		for _, d := range r.Drifted {
			ew.Row(markdown.Code(d.ID), markdown.Code(d.Source), markdown.Code(d.Path),
				markdown.Code(markdown.Value(d.Want, 0)), markdown.Code(markdown.Value(d.Have, 0)), markdown.Code(d.Manager))
		}
	}
	WriteObjectTable(ew, "\n### Missing objects\n\n", r.Missing)
	if len(r.Unmanaged) > 0 {
		ew.Printf("\n### Unmanaged objects\n\n")
		ew.Table("Object", "Kiali wizard", "Managers", "Reason")
		for _, u := range r.Unmanaged {
			ew.Row(markdown.Code(u.ID), markdown.Code(u.KialiWizard), markdown.Code(strings.Join(u.Managers, ", ")), markdown.Text(u.Reason))
		}
	}
	WriteObjectTable(ew, "\n### Stale objects\n\n", r.Stale)
	return ew.Err()
}

func (u Unmanaged) describe() string {
	s := u.Reason
	if u.KialiWizard != "" {
		s = "made by Kiali wizard " + u.KialiWizard + "; " + s
	}
	if len(u.Managers) > 0 {
		s += " (managers: " + strings.Join(u.Managers, ", ") + ")"
	}
	return s
}

func withSource(id, source string) string {
	if source == "" {
		return id
	}
	return id + " (" + source + ")"
}

func byManager(m string) string {
	if m == "" {
		return ""
	}
	return " (set by " + m + ")"
}

// writeObjectTable writes the heading and a table of the objects and their
// sources, or nothing when there are no objects.
func WriteObjectTable(ew *markdown.Writer, heading string, objs []ObjectInfo) {
	if len(objs) == 0 {
		return
	}
	ew.Printf("%s", heading)
	ew.Table("Object", "Source")
	for _, o := range objs {
		ew.Row(markdown.Code(o.ID), markdown.Code(o.Source))
	}
}

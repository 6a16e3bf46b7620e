package apply

import (
	"fmt"
	"strings"
)

// Action is what happened to one object.
type Action string

// Actions recorded in a ChangeSet.
const (
	// Created: the object did not exist and was created.
	Created Action = "created"
	// Configured: the object existed and was changed.
	Configured Action = "configured"
	// Unchanged: the object already matched; nothing was written.
	Unchanged Action = "unchanged"
	// Deleted: the object left Git and was deleted by prune.
	Deleted Action = "deleted"
	// LabelsRemoved: the Namespace left Git and prune removed meshintent's
	// labels and annotations from it; the Namespace itself is kept.
	LabelsRemoved Action = "labels-removed"
	// Skipped: nothing was done; Reason says why.
	Skipped Action = "skipped"
)

// ChangeSetEntry is the outcome for one object.
type ChangeSetEntry struct {
	// ID is Kind/namespace/name, as manifest.ObjectID formats it.
	ID string `json:"id"`
	// Object identifies the object.
	Object ObjectRef `json:"object"`
	// Source is the repo-relative file the object came from, when known.
	Source string `json:"source,omitempty"`
	// Action is what happened.
	Action Action `json:"action"`
	// Reason explains a Skipped entry or a partial LabelsRemoved.
	Reason string `json:"reason,omitempty"`
}

// String formats the entry as "ID action" plus the reason when there is one.
func (e ChangeSetEntry) String() string {
	s := e.ID + " " + string(e.Action)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// ChangeSet lists the outcome for each object, in the order they were handled.
type ChangeSet struct {
	Entries []ChangeSetEntry `json:"entries"`
}

// Add appends entries.
func (c *ChangeSet) Add(e ...ChangeSetEntry) { c.Entries = append(c.Entries, e...) }

// Count returns how many entries have the action.
func (c *ChangeSet) Count(a Action) int {
	n := 0
	for _, e := range c.Entries {
		if e.Action == a {
			n++
		}
	}
	return n
}

// Changed reports whether any entry wrote to the cluster.
func (c *ChangeSet) Changed() bool {
	for _, e := range c.Entries {
		if e.Action != Unchanged && e.Action != Skipped {
			return true
		}
	}
	return false
}

// Summary counts the entries by action, e.g. "2 created, 1 configured, 5 unchanged".
func (c *ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Unchanged, Deleted, LabelsRemoved, Skipped} {
		if n := c.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// String lists the entries, one per line.
func (c *ChangeSet) String() string {
	var b strings.Builder
	for _, e := range c.Entries {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

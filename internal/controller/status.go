package controller

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/validate"
)

// Caps on what status holds, so a large repository cannot grow the object
// towards etcd's size limit.
const (
	// historyLimit is the number of attempts kept, newest first.
	historyLimit = 5
	// inventoryLimit caps status.inventory.entries; total counts them all.
	inventoryLimit = 100
	// policyResultLimit caps status.policy.results, denials first.
	policyResultLimit = 20
	// driftEntryLimit caps status.drift.entries.
	driftEntryLimit = 20
	// messageLimit caps condition and history messages.
	messageLimit = 2048
)

// addAttempt puts a into the history, newest first, keeping historyLimit.
func addAttempt(history []v1alpha1.Attempt, a v1alpha1.Attempt) []v1alpha1.Attempt {
	a.Message = truncate(a.Message, messageLimit)
	out := make([]v1alpha1.Attempt, 0, min(len(history)+1, historyLimit))
	out = append(out, a)
	for _, h := range history {
		if len(out) == historyLimit {
			break
		}
		out = append(out, h)
	}
	return out
}

// inventoryStatus summarises an inventory: up to inventoryLimit IDs.
func inventoryStatus(inv *apply.Inventory) *v1alpha1.InventoryStatus {
	if inv == nil {
		return nil
	}
	st := &v1alpha1.InventoryStatus{Total: len(inv.Entries)}
	for _, e := range inv.Entries {
		if len(st.Entries) == inventoryLimit {
			break
		}
		st.Entries = append(st.Entries, e.ID())
	}
	return st
}

// policyStatus summarises a policy report: the counts, and up to
// policyResultLimit results, denials first.
func policyStatus(revision string, r *validate.Report) *v1alpha1.PolicyStatus {
	if r == nil {
		return nil
	}
	st := &v1alpha1.PolicyStatus{Revision: revision, Denials: r.Denials, Warnings: r.Warnings}
	results := slices.Clone(r.Results)
	slices.SortStableFunc(results, func(a, b validate.Result) int {
		return cmp.Compare(severityRank(a.Severity), severityRank(b.Severity))
	})
	for _, x := range results {
		if len(st.Results) == policyResultLimit {
			break
		}
		st.Results = append(st.Results, v1alpha1.PolicyResult{
			Severity: string(x.Severity),
			Policy:   x.Policy,
			Code:     x.Code,
			Object:   x.Object,
			Source:   x.Source,
			Line:     x.Line,
			Field:    x.Field,
			Message:  truncate(x.Message, messageLimit),
			Waived:   policyWaiver(x.Waived),
		})
	}
	return st
}

// policyWaiver is w for status: nil without a waiver, no expiry when the
// exception does not lapse.
func policyWaiver(w *validate.Waiver) *v1alpha1.PolicyWaiver {
	if w == nil {
		return nil
	}
	out := &v1alpha1.PolicyWaiver{Reason: truncate(w.Reason, messageLimit), By: w.By}
	if !w.Expires.IsZero() {
		t := metav1.NewTime(w.Expires)
		out.Expires = &t
	}
	return out
}

func severityRank(s validate.Severity) int {
	if s == validate.SeverityDeny {
		return 0
	}
	return 1
}

// deniedMessage says which policy denied what, in which file: the first
// denial in full, then how many more.
func deniedMessage(r *validate.Report) string {
	denials := r.Filter(validate.SeverityDeny)
	if len(denials) == 0 {
		return ""
	}
	d := denials[0]
	msg := fmt.Sprintf("policy %s denied %s", d.Policy, d.Object)
	if d.Source != "" {
		msg += " in " + d.Source
	}
	if d.Field != "" {
		msg += " at " + d.Field
	}
	msg += ": " + d.Message
	if n := len(denials) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more %s)", n, plural(n, "denial", "denials"))
	}
	return msg
}

// driftStatus summarises the drift the controller knows of.
func driftStatus(drift map[string]objectDrift, unmanaged, corrected int, now time.Time) *v1alpha1.DriftStatus {
	st := &v1alpha1.DriftStatus{CheckedAt: metav1.NewTime(now), Unmanaged: unmanaged, Corrected: corrected}
	entries := driftEntries(drift)
	for _, id := range slices.Sorted(maps.Keys(drift)) {
		d := drift[id]
		st.Drifted += len(d.fields)
		if d.missing {
			st.Missing++
		}
	}
	if len(entries) > driftEntryLimit {
		entries = entries[:driftEntryLimit]
	}
	st.Entries = entries
	return st
}

// driftEntries formats drift as status and events show it, sorted by
// object: "VirtualService/ns/n .spec.http[0].route[0].weight: want 80, have
// 50 (kubectl-edit)" or "VirtualService/ns/n: missing".
func driftEntries(drift map[string]objectDrift) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(drift)) {
		out = append(out, objectDriftEntries(id, drift[id])...)
	}
	return out
}

func objectDriftEntries(id string, d objectDrift) []string {
	var out []string
	if d.missing {
		out = append(out, id+": missing (deleted from the cluster)")
	}
	for _, f := range d.fields {
		s := fmt.Sprintf("%s %s: want %s, have %s", id, f.Path, formatValue(f.Want), formatValue(f.Have))
		if f.Manager != "" {
			s += " (" + f.Manager + ")"
		}
		out = append(out, s)
	}
	return out
}

// driftCount is the number of objects that drifted or are missing.
func driftCount(drift map[string]objectDrift) int {
	n := 0
	for _, d := range drift {
		if d.missing || len(d.fields) > 0 {
			n++
		}
	}
	return n
}

// driftSummary is a one-line account of drift for conditions.
func driftSummary(drift map[string]objectDrift) string {
	entries := driftEntries(drift)
	if len(entries) == 0 {
		return "in sync"
	}
	msg := fmt.Sprintf("%d %s drifted from Git: %s", driftCount(drift), plural(driftCount(drift), "object", "objects"), entries[0])
	if n := len(entries) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// formatValue prints a JSON value compactly; nil is "<none>".
func formatValue(v any) string {
	if v == nil {
		return "<none>"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return truncate(string(b), 200)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + "…"
}

// prunedLimit caps the objects an attempt in status names as pruned.
const prunedLimit = 20

// prunedIDs lists the objects a change set deleted because they left Git,
// at most prunedLimit.
func prunedIDs(cs apply.ChangeSet) []string {
	var ids []string
	for _, e := range cs.Entries {
		if e.Action == apply.Deleted && len(ids) < prunedLimit {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

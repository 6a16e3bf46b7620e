package apply

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrEmptySet is returned (wrapped) when pruning would delete every object
// in the inventory because the rendered set is empty, and
// ApplyOptions.AllowEmpty is not set.
var ErrEmptySet = errors.New("the rendered set is empty")

// ObjectError is a failure of one object, naming it and its Git file.
type ObjectError struct {
	// ID is Kind/namespace/name.
	ID string
	// Object identifies the object.
	Object ObjectRef
	// Source is the repo-relative file the object came from, when known.
	Source string
	// Op is what failed, e.g. "dry-run failed"; it may be empty.
	Op string
	// Err is the cause: a *ConflictError, a *NamespaceMissingError or an
	// API error.
	Err error
}

// Error formats "ID (source): op: cause".
func (e *ObjectError) Error() string {
	var b strings.Builder
	b.WriteString(e.ID)
	if e.Source != "" {
		b.WriteString(" (" + e.Source + ")")
	}
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// plural is "1 object", "2 objects": n and word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// DryRunError lists every object of a set that failed its server-side
// dry-run (schema validation, conflicts, missing namespaces). Apply returns
// it before writing anything, except the namespaces listed in
// NamespacesCreated when ApplyOptions.CreateNamespaces had to create them
// before the objects inside them could be validated.
type DryRunError struct {
	// Failures has one entry per failed object, in set order.
	Failures []*ObjectError
	// Total is the number of objects in the set.
	Total int
	// NamespacesCreated names the namespaces created before the failure.
	NamespacesCreated []string
}

// Error lists each failure on its own line.
func (e *DryRunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dry-run failed for %d of %s", len(e.Failures), plural(e.Total, "object"))
	switch n := len(e.NamespacesCreated); {
	case n == 1:
		fmt.Fprintf(&b, ", only namespace %s was created", e.NamespacesCreated[0])
	case n > 1:
		fmt.Fprintf(&b, ", only namespaces %s were created", strings.Join(e.NamespacesCreated, ", "))
	default:
		b.WriteString(", nothing was applied")
	}
	b.WriteByte(':')
	for _, f := range e.Failures {
		b.WriteString("\n  ")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap returns the failures, so errors.As finds a *ConflictError or a
// *NamespaceMissingError among them.
func (e *DryRunError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}

// NamespaceMissingError is the cause when a namespace the set needs does
// not exist and ApplyOptions.CreateNamespaces is off.
type NamespaceMissingError struct {
	Namespace string
}

func (e *NamespaceMissingError) Error() string {
	return fmt.Sprintf("namespace %s does not exist; create it or enable namespace creation", e.Namespace)
}

// Conflict is one field another field manager owns with a different value.
type Conflict struct {
	// Manager is the other field manager's name, e.g. "kubectl-edit".
	Manager string `json:"manager"`
	// Field is the field path as the API server reports it, e.g. ".spec.http".
	Field string `json:"field"`
}

// ConflictError is a server-side apply conflict (HTTP 409): other field
// managers own fields meshintent wants to set to different values.
// ApplyOptions.Force takes them over.
type ConflictError struct {
	// Conflicts lists every conflicting field.
	Conflicts []Conflict
	err       error
}

// Managers returns the distinct managers in the conflicts, sorted.
func (e *ConflictError) Managers() []string {
	seen := map[string]bool{}
	var ms []string
	for _, c := range e.Conflicts {
		if !seen[c.Manager] {
			seen[c.Manager] = true
			ms = append(ms, c.Manager)
		}
	}
	sort.Strings(ms)
	return ms
}

func (e *ConflictError) Error() string {
	var parts []string
	for _, m := range e.Managers() {
		var fields []string
		for _, c := range e.Conflicts {
			if c.Manager == m {
				fields = append(fields, c.Field)
			}
		}
		parts = append(parts, fmt.Sprintf("%q owns %s", m, strings.Join(fields, ", ")))
	}
	return "conflict with other field managers: " + strings.Join(parts, "; ") + "; apply with force to take these fields over"
}

// Unwrap returns the API server's error, so apierrors.IsConflict holds.
func (e *ConflictError) Unwrap() error { return e.err }

// asConflict turns an API server apply conflict into a *ConflictError and
// returns any other error unchanged.
func asConflict(err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Reason != metav1.StatusReasonConflict || status.Status().Details == nil {
		return err
	}
	var cs []Conflict
	for _, c := range status.Status().Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		cs = append(cs, Conflict{Manager: managerFromConflict(c.Message), Field: c.Field})
	}
	if len(cs) == 0 {
		return err
	}
	return &ConflictError{Conflicts: cs, err: err}
}

// managerFromConflict extracts the manager's name from a cause message
// such as `conflict with "kubectl-edit" using networking.istio.io/v1`.
func managerFromConflict(msg string) string {
	rest, ok := strings.CutPrefix(msg, "conflict with ")
	if !ok {
		return msg
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return rest
	}
	name, err := strconv.Unquote(q)
	if err != nil {
		return rest
	}
	return name
}

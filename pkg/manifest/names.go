package manifest

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NameError is an object's metadata.name or metadata.namespace that
// Kubernetes would refuse. Value is the name as written; Error quotes it
// with %q, so control characters and escape sequences in it show as
// escapes and are never executed by a terminal.
type NameError struct {
	// Field is "metadata.name" or "metadata.namespace".
	Field string
	// Value is the invalid name.
	Value string
	// Reasons are apimachinery's validation messages.
	Reasons []string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("%s: invalid name %q: %s", e.Field, e.Value, strings.Join(e.Reasons, "; "))
}

// CheckNames validates the names of an object of the given kind as the
// API server would: metadata.namespace, when set, must be a DNS-1123 label
// (at most 63 lower-case letters, digits and '-'); metadata.name must be a
// DNS-1123 label for a Namespace and a DNS-1123 subdomain (at most 253
// characters, labels joined by '.') for every other kind. An empty name is
// left to the caller, which reports a missing name its own way. The first
// invalid field is returned as a *NameError, the namespace first.
func CheckNames(kind, namespace, name string) error {
	if namespace != "" {
		if msgs := validation.IsDNS1123Label(namespace); len(msgs) > 0 {
			return &NameError{Field: "metadata.namespace", Value: namespace, Reasons: msgs}
		}
	}
	if name == "" {
		return nil
	}
	check := validation.IsDNS1123Subdomain
	if kind == "Namespace" {
		check = validation.IsDNS1123Label
	}
	if msgs := check(name); len(msgs) > 0 {
		return &NameError{Field: "metadata.name", Value: name, Reasons: msgs}
	}
	return nil
}

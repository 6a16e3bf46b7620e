package validate

import (
	"context"
	"testing"
)

// TestNewCompilesEqualPoliciesOnce checks that engines of equal policies
// and data share one compilation, and that a change of a policy file or of
// the caller's data is seen at once: its denials change.
func TestNewCompilesEqualPoliciesOnce(t *testing.T) {
	ctx := context.Background()
	policy := func(msg string) Source {
		return repoSource(map[string]string{"names.rego": `package names

deny contains msg if {
	input.kind == "VirtualService"
	input.metadata.name == data.names.banned
	msg := "` + msg + `"
}
`})
	}
	in := Input{Objects: nil}
	in.Objects = append(in.Objects, vs("shop", "cart", []any{"cart"}, route("cart", "v1", 100)))
	denials := func(e *Engine) []string {
		t.Helper()
		rep, err := e.Evaluate(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rep.Results {
			if r.Policy == "names" || r.Message == "first" || r.Message == "second" {
				out = append(out, r.Message)
			}
		}
		return out
	}
	banned := func(name string) map[string]any { return map[string]any{"names": map[string]any{"banned": name}} }

	tests := []struct {
		name        string
		opts        Options
		want        []string
		sameAsFirst bool
	}{
		{"the first engine", Options{Policies: []Source{policy("first")}, Data: banned("cart")}, []string{"first"}, true},
		{"equal policies and data", Options{Policies: []Source{policy("first")}, Data: banned("cart")}, []string{"first"}, true},
		{"a policy file changed", Options{Policies: []Source{policy("second")}, Data: banned("cart")}, []string{"second"}, false},
		{"the data changed", Options{Policies: []Source{policy("first")}, Data: banned("checkout")}, nil, false},
	}
	var first *compiled
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = e.compiled
			}
			if got := e.compiled == first; got != tt.sameAsFirst {
				t.Errorf("shares the first engine's compilation = %v, want %v", got, tt.sameAsFirst)
			}
			if got := denials(e); len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("denials = %q, want %q", got, tt.want)
			}
		})
	}
}

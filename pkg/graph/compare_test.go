package graph

import (
	"fmt"
	"testing"
)

// reviewsIntent is a reviews ServiceIntent splitting v1 and v2.
func reviewsIntent(v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: reviews, namespace: bookinfo}
spec:
  versions: [{name: v1}, {name: v2}]
  split: [{version: v1, weight: %d}, {version: v2, weight: %d}]
`, v1, v2)
}

func TestCompare(t *testing.T) {
	applied := FromSet(render(t, reviewsIntent(80, 20)))
	same := FromSet(render(t, reviewsIntent(80, 20)))
	for i := range same {
		same[i].Source = "moved/reviews.yaml" // not routing
	}
	shifted := FromSet(render(t, reviewsIntent(50, 50)))
	other := Graph{Namespace: "bookinfo", Name: "ratings", Hosts: []string{"ratings"}}

	type want struct {
		name          string
		before, after bool
		changed       bool
	}
	tests := []struct {
		name          string
		before, after []Graph
		want          []want
	}{
		{"the same routing from another file is unchanged", applied, same, []want{{"reviews", true, true, false}}},
		{"a weight shift is a change", applied, shifted, []want{{"reviews", true, true, true}}},
		{"a service only after is added, sorted by name", applied, append([]Graph{other}, applied...),
			[]want{{"ratings", false, true, true}, {"reviews", true, true, false}}},
		{"a service only before is removed", append([]Graph{other}, applied...), applied,
			[]want{{"ratings", true, false, true}, {"reviews", true, true, false}}},
		{"nothing on either side", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.before, tt.after)
			if len(got) != len(tt.want) {
				t.Fatalf("Compare: %d pairs, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				p := got[i]
				if p.Name != w.name || (p.Before != nil) != w.before || (p.After != nil) != w.after || p.Changed() != w.changed {
					t.Errorf("pair %d: %s before=%v after=%v changed=%v; want %+v", i, p.Name, p.Before != nil, p.After != nil, p.Changed(), w)
				}
			}
		})
	}
}

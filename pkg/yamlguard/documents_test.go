package yamlguard

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

func TestDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		// want is each yielded document's first key (its tag when it is
		// no map), then "error" when the stream ends with one.
		want []string
	}{
		{"every document in order, empty ones too", "a: 1\n---\n---\nb: 2\n", []string{"a", "!!null", "b"}},
		{"an empty stream has no document", "", nil},
		{"a syntax error is yielded last, after the documents before it", "a: 1\n---\nb: [\n---\nc: 3\n", []string{"a", "error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for doc, err := range Documents([]byte(tc.stream)) {
				switch {
				case err != nil:
					if doc != nil {
						t.Errorf("the error %v comes with a node", err)
					}
					got = append(got, "error")
				case Content(doc).Kind == yaml.MappingNode:
					got = append(got, Content(doc).Content[0].Value)
				default:
					got = append(got, Content(doc).Tag)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a loop may stop early", func(t *testing.T) {
		n := 0
		for _, err := range Documents([]byte("a: 1\n---\nb: 2\n")) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			break
		}
		if n != 1 {
			t.Errorf("%d documents after break, want 1", n)
		}
	})
}

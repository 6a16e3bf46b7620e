package validate

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestRefsBuiltWithoutTheParser checks that the references built directly
// at package level (so that process start does not run OPA's parser) are
// the ones the parser gives for their text.
func TestRefsBuiltWithoutTheParser(t *testing.T) {
	for _, tc := range []struct {
		text string
		ref  ast.Ref
	}{
		{"data.meshintent.index", indexPath},
		{"data.meshintent.objects", objectsPath},
		{"data.meshintent.intents", intentsPath},
		{"data.meshintent.config", configPath},
		{"input.kind", inputKind},
	} {
		t.Run(tc.text, func(t *testing.T) {
			want := ast.MustParseRef(tc.text)
			if !tc.ref.Equal(want) || tc.ref.String() != want.String() {
				t.Errorf("got %v, want %v", tc.ref, want)
			}
		})
	}
}

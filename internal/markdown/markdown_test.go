package markdown

import "testing"

func TestEscaping(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"a pipe cannot end a cell", Text("a|b"), `a\|b`},
		{"a line break cannot start a row", Text("a\nDENY b"), "a DENY b"},
		{"a backtick cannot end a code span", Code("a`b|c"), "`a'b\\|c`"},
		{"an empty code span is nothing", Code(""), ""},
		{"nil is absent", Value(nil, 0), "<absent>"},
		{"values are compact JSON without HTML escapes", Value(map[string]any{"a": "<b>"}, 0), `{"a":"<b>"}`},
		{"long values are cut on a rune boundary", Value("ääää", 6), `"ä…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

package intent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkParsed checks that parse (the function named fn) reads in as want.
func checkParsed[T any](t *testing.T, fn string, parse func(string) (T, error), in string, want T) {
	t.Helper()
	got, err := parse(in)
	if err != nil {
		t.Errorf("%s(%q): %v", fn, in, err)
	} else if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s(%q) (-want +got):\n%s", fn, in, diff)
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		path Path
		want string
	}{
		{P("spec", "routes", 0, "match", 1, "headres"), "spec.routes[0].match[1].headres"},
		{P("spec", "versions", 0, "labels", "app.kubernetes.io/version"), `spec.versions[0].labels["app.kubernetes.io/version"]`},
		{P("spec", "routes", 2), "spec.routes[2]"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := tt.path.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.path, got, tt.want)
		}
		// What String writes, ParsePath reads back.
		checkParsed(t, "ParsePath", ParsePath, tt.want, tt.path)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Path
		bad  bool
	}{
		{in: "", want: nil},
		{in: "spec.http[1].route", want: P("spec", "http", 1, "route")},
		{in: ".spec.http[1].route", want: P("spec", "http", 1, "route")},
		{in: `metadata.labels["istio.io/rev"]`, want: P("metadata", "labels", "istio.io/rev")},
		{in: `a["x]y"].b`, want: P("a", "x]y", "b")},
		{in: "spec.http[x]", bad: true},
		{in: "spec.http[1", bad: true},
		{in: `a["x"`, bad: true},
		{in: `a["x`, bad: true},
	} {
		got, err := ParsePath(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParsePath(%q): error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad {
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePath(%q) (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

func TestPointer(t *testing.T) {
	for _, tc := range []struct {
		path    Path
		pointer string
		tokens  []string
	}{
		{nil, "", nil},
		{P("spec", "http", 0, "route", 1, "weight"), "/spec/http/0/route/1/weight", []string{"spec", "http", "0", "route", "1", "weight"}},
		{P("metadata", "labels", "istio.io/rev"), "/metadata/labels/istio.io~1rev", []string{"metadata", "labels", "istio.io/rev"}},
		{P("a", "~b/", "~1"), "/a/~0b~1/~01", []string{"a", "~b/", "~1"}},
		{P(""), "/", []string{""}},
	} {
		if got := tc.path.Pointer(); got != tc.pointer {
			t.Errorf("%v.Pointer() = %q, want %q", tc.path, got, tc.pointer)
		}
		checkParsed(t, "PointerTokens", PointerTokens, tc.pointer, tc.tokens)
	}
	if _, err := PointerTokens("spec/http"); err == nil {
		t.Error(`PointerTokens("spec/http"): no error, want one (no leading /)`)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// TestNewcomerMistakes runs `reconciler validate overlays/prod` over copies
// of examples/repo, each with a mistake a first-timer makes, and checks the
// exit class and that the message names the file and line (and column,
// where the text that is wrong is known) of the mistake — in the base or in
// the overlay — with the object and the field's path.
func TestNewcomerMistakes(t *testing.T) {
	type edit struct{ file, from, to string }
	cases := []struct {
		name  string
		edits []edit
		code  int
		// want matches the one error line, anchored at its start.
		want string
	}{{
		name:  "a misspelt field in a base that the prod overlay replaces is still refused, at the base's line and column",
		edits: []edit{{"base/reviews.yaml", "    weight: 70", "    wieght: 70"}},
		code:  ExitError,
		want:  `error: base/reviews.yaml:49:5: ServiceIntent/bookinfo/reviews: spec.split\[0\]\.wieght: unknown field$`,
	}, {
		name:  "a field indented one level too little in an overlay patch is an unknown field of its parent",
		edits: []edit{{"overlays/prod/reviews.yaml", "    reason: ", "  reason: "}},
		code:  ExitError,
		want:  `error: overlays/prod/reviews.yaml:16:3: ServiceIntent/bookinfo/reviews: spec\.reason: unknown field$`,
	}, {
		name:  "a list item's key indented one space too far is invalid YAML, at its line",
		edits: []edit{{"base/reviews.yaml", "    weight: 70", "     weight: 70"}},
		code:  ExitError,
		want:  `error: kustomize build overlays/prod: base/reviews.yaml: invalid YAML: yaml: line 49: mapping values are not allowed in this context$`,
	}, {
		name:  "a weight written as a string is refused at the overlay's value",
		edits: []edit{{"overlays/prod/reviews.yaml", "weight: 80", `weight: "80"`}},
		code:  ExitError,
		want:  `error: overlays/prod/reviews.yaml:9:13: ServiceIntent/bookinfo/reviews: spec\.split\[0\]\.weight: expected integer, got string$`,
	}, {
		name:  "a split to a version that spec.versions does not list is refused at the overlay's line",
		edits: []edit{{"overlays/prod/reviews.yaml", "version: v2", "version: v4"}},
		code:  ExitError,
		want:  `error: overlays/prod/reviews.yaml:10: ServiceIntent/bookinfo/reviews: spec\.split\[1\]\.version: version "v4" is not in spec\.versions$`,
	}, {
		name: "a JSON patch in an overlay's kustomization to a misspelt field is refused at its path",
		edits: []edit{{"overlays/prod/kustomization.yaml", "- path: reviews.yaml\n",
			"- path: reviews.yaml\n- target: {kind: ServiceIntent, name: reviews}\n  patch: |-\n    - op: replace\n      path: /spec/timout\n      value: 5s\n"}},
		code: ExitError,
		want: `error: overlays/prod/kustomization.yaml:12:13: ServiceIntent/reviews: spec\.timout: unknown field$`,
	}, {
		name: "a JSON patch's value of the wrong type is refused at the value",
		edits: []edit{{"overlays/prod/kustomization.yaml", "- path: reviews.yaml\n",
			"- path: reviews.yaml\n- target: {kind: ServiceIntent, name: reviews}\n  patch: |-\n    - op: add\n      path: /spec/retries\n      value: {attempts: three}\n"}},
		code: ExitError,
		want: `error: overlays/prod/kustomization.yaml:13:25: ServiceIntent/reviews: spec\.retries\.attempts: expected integer, got string$`,
	}, {
		name:  "a split summing to 90 is an intent error (exit 2), not a policy denial, at the overlay's split",
		edits: []edit{{"overlays/prod/reviews.yaml", "weight: 80", "weight: 70"}},
		code:  ExitError,
		want:  `error: overlays/prod/reviews.yaml:8: ServiceIntent/bookinfo/reviews: spec\.split: weights sum to 90, want 100$`,
	}, {
		name:  "a file left out of the base's resources leaves the overlay's patch without its object",
		edits: []edit{{"base/kustomization.yaml", "- reviews.yaml\n", ""}},
		code:  ExitError,
		want:  `error: overlays/prod/reviews.yaml:1:1: ServiceIntent/bookinfo/reviews: this patch's object is declared by no resource it applies to: is its file missing from a kustomization's resources\?$`,
	}, {
		name:  "a tab for indentation is invalid YAML, at its line",
		edits: []edit{{"base/reviews.yaml", "\n  timeout: 3s\n", "\n\ttimeout: 3s\n"}},
		code:  ExitError,
		want:  `error: kustomize build overlays/prod: base/reviews.yaml: invalid YAML: yaml: line 53: found a tab character that violates indentation$`,
	}, {
		name:  "a suspension without a reason is a policy denial (exit 1), at the intent's line",
		edits: []edit{{"overlays/prod/reviews.yaml", `    reason: "INC-2291: v3 p99 latency regression, suspended until the fix ships"` + "\n", ""}},
		code:  ExitDenied,
		want:  `DENY base/reviews.yaml:\d+: ServiceIntent/bookinfo/reviews spec\.suspend\.reason: .*\[meshintent\.suspend\]$`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			gitfixture.CopyTree(t, exampleRepo, repo)
			for _, e := range tc.edits {
				file := filepath.Join(repo, filepath.FromSlash(e.file))
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), e.from) {
					t.Fatalf("%s lacks %q: the example changed, update the case", e.file, e.from)
				}
				if err := os.WriteFile(file, []byte(strings.Replace(string(b), e.from, e.to, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := run(t, "validate", filepath.Join(repo, "overlays", "prod"))
			if code != tc.code {
				t.Errorf("exit code = %d, want %d", code, tc.code)
			}
			re := regexp.MustCompile(`(?m)^` + tc.want)
			if !re.MatchString(stdout + stderr) {
				t.Errorf("output lacks a line matching\n  %s\nstdout:\n%sstderr:\n%s", tc.want, stdout, stderr)
			}
		})
	}
}

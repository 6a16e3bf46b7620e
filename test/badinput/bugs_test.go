package badinput

import (
	"cmp"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
)

// The tests below pin bugs the bad-input cases once found in other packages
// (unclear errors, output forged by line breaks, a fast path that read YAML
// differently from kustomize): each now runs as a regression test.

// bugCase is a broken repository that `reconciler validate` must refuse
// with exit 2 and an error that says what is wrong.
type bugCase struct {
	name      string
	breakRepo func(r *badRepo)
	// path is the kustomization validated; goodPath when empty.
	path string
	// budget bounds the run time; 20s when zero.
	budget time.Duration
	// problems, when set, is the number of problem lines stderr must hold
	// (see checkReadable).
	problems int
	// want must appear in stderr, absent must not.
	want, absent []string
	// maxElapsed, when set, is how long refusing it may take.
	maxElapsed time.Duration
}

func TestBugErrorsSayWhatIsWrong(t *testing.T) {
	deep := func(open, inner, close string) func(*badRepo) {
		return edit("base/details.yaml", "    team: books\n", "    team: books\n  deep: "+strings.Repeat(open, 10_000)+inner+strings.Repeat(close, 10_000)+"\n")
	}
	tests := []bugCase{{
		name:      "kustomize: a tab in a base file is named, without kustomize's noise",
		breakRepo: edit("base/details.yaml", "  name: details\n", "\tname: details\n"),
		want:      []string{"base/details.yaml"},
		absent:    []string{"must resolve to a file", "file is not directory"},
	}, {
		name:      "kustomize: the same ServiceIntent in two base files names the first of the two",
		breakRepo: copyDetails,
		want:      []string{"base/details-copy.yaml"},
		absent:    []string{"file is not directory"},
	}, {
		name:      "deep nesting through kustomize: 10k nested lists",
		breakRepo: deep("[", "", "]"),
		budget:    time.Minute,
		problems:  1,
		want:      []string{"base/details.yaml"},
	}, {
		name:       "deep nesting through kustomize: 10k nested maps are refused in under 5s",
		breakRepo:  deep("{a: ", "1", "}"),
		budget:     2 * time.Minute,
		maxElapsed: 5 * time.Second,
	}, {
		name:      "helmCharts: one line saying Helm is off",
		breakRepo: appendTo("overlays/prod/kustomization.yaml", "helmCharts:\n- name: istio-gateway\n  repo: https://istio-release.storage.googleapis.com/charts\n  version: 1.24.0\n"),
		problems:  1,
		want:      []string{"Helm"},
	}, {
		name:      "an overlay's error names the overlay file where the bad weight is written",
		breakRepo: edit("overlays/prod/reviews.yaml", "weight: 15", "weight: -5"),
		want:      []string{"weight -5 must be between 0 and 100", "overlays/prod/reviews.yaml"},
	}, {
		name:      "a remote base names the --allow-remote-bases flag",
		breakRepo: listResource("overlays/prod", "github.com/istio/istio/samples/bookinfo/networking?ref=1.24.0"),
		want:      []string{"--allow-remote-bases"},
	}, {
		name:      "a huge number names the file, not the fast path's internal fallback",
		breakRepo: addResource("base", "base/mongodb.yaml", strings.Replace(mongoVS, "{host: mongodb}", "{host: mongodb, port: {number: 12345678901234567890}}", 1)),
		path:      "base",
		problems:  1,
		want:      []string{"base/mongodb.yaml"},
		absent:    []string{"YAML feature left to kustomize"},
	}, {
		name:      "line breaks in names do not forge output lines: an intent name",
		breakRepo: edit("base/details.yaml", "  name: details\n", "  name: \"details\\nerror: forged line\"\n"),
		path:      "base",
		problems:  1,
		absent:    []string{"\nerror: forged line", "\nDENY fake"},
	}, {
		name:      "line breaks in names do not forge output lines: a kind",
		breakRepo: addResource("base", "base/x.yaml", "apiVersion: apps/v1\nkind: \"Deployment\\nDENY fake: all good\"\nmetadata: {name: x, namespace: bookinfo}\n"),
		path:      "base",
		problems:  1,
		absent:    []string{"\nerror: forged line", "\nDENY fake"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newBadRepo(t)
			tc.breakRepo(r)
			res := validate(t, r, cmp.Or(tc.path, goodPath), cmp.Or(tc.budget, 20*time.Second))
			if res.code != cli.ExitError {
				t.Errorf("exit code = %d, want 2", res.code)
			}
			if tc.problems > 0 {
				checkReadable(t, res.stderr, tc.problems)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the error does not say %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(res.stderr, a) {
					t.Errorf("the error says %q, which is not the problem", a)
				}
			}
			if tc.maxElapsed > 0 && res.elapsed > tc.maxElapsed {
				t.Errorf("refusing it took %s, more than %s", res.elapsed.Round(time.Second), tc.maxElapsed)
			}
		})
	}
}

func TestBugCommittedSymlinkOutOfTheRepository(t *testing.T) {
	r := newBadRepo(t)
	r.symlink(filepath.Join(r.Outside, "base", "details.yaml"), "base/details.yaml")
	r.Commit("link details out")
	res := reconciler(t, 20*time.Second, "validate", "--repo", r.URL(), "--ref", "main", "--path", "base", "--cache-dir", t.TempDir())
	if res.code != cli.ExitError {
		t.Errorf("exit code = %d, want 2", res.code)
	}
	if !strings.Contains(res.stderr, "symlink") {
		t.Errorf("the error does not say base/details.yaml is a symlink leading outside the repository")
	}
}

func TestBugFastPathReadsLeadingZeroAsDecimal(t *testing.T) {
	r := newBadRepo(t)
	r.Edit("base/reviews.yaml", "weight: 70", "weight: 070")
	r.Edit("base/reviews.yaml", "weight: 20", "weight: 020")
	r.Edit("base/reviews.yaml", "weight: 10\n", "weight: 010\n")
	plain := validate(t, r, "base", 20*time.Second)
	r.appendTo("base/kustomization.yaml", "patches: []\n") // the same build, by kustomize
	kustomized := validate(t, r, "base", 20*time.Second)
	if plain.code != kustomized.code {
		t.Errorf("base is valid or not depending on who builds it: exit %d as a plain list, %d through kustomize:\n%s",
			plain.code, kustomized.code, kustomized.stderr)
	}
}

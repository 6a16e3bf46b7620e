package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
)

// The tests below show bugs the bad-input cases found in other packages. They
// are skipped so that the suite stays green; set MESHINTENT_RUN_KNOWN_BUGS=1
// to run them, and remove a skip with its fix.

func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("MESHINTENT_RUN_KNOWN_BUGS") == "" {
		t.Skip("BUG: " + what)
	}
}

// validate runs `reconciler validate` (render and policy gate, no cluster)
// on path of the broken repository.
func validate(t *testing.T, r *badRepo, path string, budget time.Duration, flags ...string) result {
	t.Helper()
	args := append([]string{"validate", filepath.Join(r.Dir, filepath.FromSlash(path))}, flags...)
	return reconciler(t, budget, args...)
}

func TestBugKustomizeErrorsNameTheRepoFile(t *testing.T) {
	knownBug(t, "pkg/render passes kustomize's accumulation errors through as they are when an overlay is built: "+
		"a broken base file is named by its base name only (\"File: details.yaml\", not base/details.yaml), "+
		"a duplicate names one of its two files, and both carry misleading noise "+
		"(\"'base' must resolve to a file\", \"must build at directory: 'base/details.yaml': file is not directory\"); "+
		"the fast path (building base itself) names the files properly")
	t.Run("a tab in a base file", func(t *testing.T) {
		r := newBadRepo(t)
		r.Edit("base/details.yaml", "  name: details\n", "\tname: details\n")
		res := validate(t, r, goodPath, 20*time.Second)
		if res.code != cli.ExitError {
			t.Errorf("exit code = %d, want 2", res.code)
		}
		if !strings.Contains(res.stderr, "base/details.yaml") {
			t.Errorf("the error does not name base/details.yaml")
		}
		for _, noise := range []string{"must resolve to a file", "file is not directory"} {
			if strings.Contains(res.stderr, noise) {
				t.Errorf("the error says %q, which is not the problem", noise)
			}
		}
	})
	t.Run("the same ServiceIntent in two base files", func(t *testing.T) {
		r := newBadRepo(t)
		b, err := os.ReadFile(filepath.Join(r.Dir, "base", "details.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		r.addResource("base", "base/details-copy.yaml", string(b))
		res := validate(t, r, goodPath, 20*time.Second)
		if !strings.Contains(res.stderr, "base/details-copy.yaml") {
			t.Errorf("the error does not name base/details-copy.yaml, the first of the two declaring files")
		}
		if strings.Contains(res.stderr, "file is not directory") {
			t.Errorf("the error says %q, which is not the problem", "file is not directory")
		}
	})
}

func TestBugDeepNestingThroughKustomize(t *testing.T) {
	knownBug(t, "pkg/render hands deeply nested YAML to kustomize unchecked: 10k nested lists in base/details.yaml "+
		"built through overlays/prod give a single 160 KB error line that dumps the whole object as a Go map "+
		"(yaml: exceeded max depth of 10000), and 10k nested maps make kustomize work for ~30 s "+
		"(quadratic: 1k 0.6 s, 2k 2.4 s, 4k 9.3 s) while holding the global kustomize mutex, so every other render waits; "+
		"the fast path refuses both at once as an unknown field")
	t.Run("10k nested lists", func(t *testing.T) {
		r := newBadRepo(t)
		r.Edit("base/details.yaml", "    team: books\n", "    team: books\n  deep: "+strings.Repeat("[", 10_000)+strings.Repeat("]", 10_000)+"\n")
		res := validate(t, r, goodPath, time.Minute)
		if res.code != cli.ExitError {
			t.Errorf("exit code = %d, want 2", res.code)
		}
		checkReadable(t, res.stderr, 1)
		if !strings.Contains(res.stderr, "base/details.yaml") {
			t.Errorf("the error does not name base/details.yaml")
		}
	})
	t.Run("10k nested maps", func(t *testing.T) {
		r := newBadRepo(t)
		r.Edit("base/details.yaml", "    team: books\n", "    team: books\n  deep: "+strings.Repeat("{a: ", 10_000)+"1"+strings.Repeat("}", 10_000)+"\n")
		res := validate(t, r, goodPath, 2*time.Minute)
		if res.code != cli.ExitError {
			t.Errorf("exit code = %d, want 2", res.code)
		}
		if res.elapsed > 5*time.Second {
			t.Errorf("refusing a 60 KB file took %s", res.elapsed.Round(time.Second))
		}
	})
}

func TestBugHelmChartsErrorIsOneLine(t *testing.T) {
	knownBug(t, "pkg/render wraps kustomize's helmCharts error, which quotes the chart's configuration over several lines, "+
		"so the CLI prints one problem as 5 lines, 4 of them without the \"error: \" prefix")
	r := newBadRepo(t)
	r.appendTo("overlays/prod/kustomization.yaml", "helmCharts:\n- name: istio-gateway\n  repo: https://istio-release.storage.googleapis.com/charts\n  version: 1.24.0\n")
	res := validate(t, r, goodPath, 20*time.Second)
	if res.code != cli.ExitError {
		t.Errorf("exit code = %d, want 2", res.code)
	}
	if !strings.Contains(res.stderr, "Helm") {
		t.Errorf("the error does not say Helm is off")
	}
	checkReadable(t, res.stderr, 1)
}

func TestBugOverlayErrorsNameTheOverlay(t *testing.T) {
	knownBug(t, "pkg/render/pkg/intent report an intent error that an overlay's patch brought in at the base file's line for that field: "+
		"weight -5 written in overlays/prod/reviews.yaml is reported as base/reviews.yaml:51, a line that says weight: 20, "+
		"and the overlay file is not named (same for split versions, suspend and policy results on patched fields); "+
		"render's own test only covers a field absent from the base (\"at the base's closest line\")")
	r := newBadRepo(t)
	r.Edit("overlays/prod/reviews.yaml", "weight: 15", "weight: -5")
	res := validate(t, r, goodPath, 20*time.Second)
	if res.code != cli.ExitError {
		t.Errorf("exit code = %d, want 2", res.code)
	}
	if !strings.Contains(res.stderr, "weight -5 must be between 0 and 100") {
		t.Errorf("the error does not say what is wrong")
	}
	if !strings.Contains(res.stderr, "overlays/prod/reviews.yaml") {
		t.Errorf("the error does not name overlays/prod/reviews.yaml, where weight -5 is written")
	}
}

func TestBugRemoteBaseErrorNamesTheFlag(t *testing.T) {
	r := newBadRepo(t)
	r.listResource("overlays/prod", "github.com/istio/istio/samples/bookinfo/networking?ref=1.24.0")
	res := validate(t, r, goodPath, 20*time.Second)
	if !strings.Contains(res.stderr, "--allow-remote-bases") {
		t.Errorf("the error does not name the --allow-remote-bases flag")
	}
}

func TestBugCommittedSymlinkOutOfTheRepository(t *testing.T) {
	knownBug(t, "pkg/source writes a committed symlink that leads outside the repository as a plain file holding the target path, "+
		"so render reports \"base/details.yaml:1: a resource must be a YAML mapping\" (or, through an overlay, kustomize's "+
		"\"missing Resource metadata\"); nothing says the file is a symlink leading out, as the local-directory form does")
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

func TestBugLineBreaksInNamesForgeOutputLines(t *testing.T) {
	tests := []struct {
		name      string
		breakRepo func(r *badRepo)
	}{{
		name: "an intent name with a line break",
		breakRepo: func(r *badRepo) {
			r.Edit("base/details.yaml", "  name: details\n", "  name: \"details\\nerror: forged line\"\n")
		},
	}, {
		name: "a kind with a line break",
		breakRepo: func(r *badRepo) {
			r.addResource("base", "base/x.yaml", "apiVersion: apps/v1\nkind: \"Deployment\\nDENY fake: all good\"\nmetadata: {name: x, namespace: bookinfo}\n")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBadRepo(t)
			tt.breakRepo(r)
			res := validate(t, r, "base", 20*time.Second)
			if res.code != cli.ExitError {
				t.Errorf("exit code = %d, want 2", res.code)
			}
			checkReadable(t, res.stderr, 1)
			if strings.Contains(res.stderr, "\nerror: forged line") || strings.Contains(res.stderr, "\nDENY fake") {
				t.Errorf("the repository's text starts a line of the output")
			}
		})
	}
}

func TestBugHugeNumberErrorNamesTheFile(t *testing.T) {
	knownBug(t, "pkg/render refuses a number beyond int64 in any resource with \"reading kustomize output: YAML feature left to kustomize: "+
		"line 69: large number 1e+20\" (or, for 12345678901234567890, a two-line yaml.v3 unmarshal error): the line is one of "+
		"kustomize's output, no file or field is named, and the fast path's internal fallback message leaks out")
	r := newBadRepo(t)
	r.addResource("base", "base/mongodb.yaml", strings.Replace(mongoVS, "{host: mongodb}", "{host: mongodb, port: {number: 12345678901234567890}}", 1))
	res := validate(t, r, "base", 20*time.Second)
	if res.code != cli.ExitError {
		t.Errorf("exit code = %d, want 2", res.code)
	}
	checkReadable(t, res.stderr, 1)
	if !strings.Contains(res.stderr, "base/mongodb.yaml") {
		t.Errorf("the error does not name base/mongodb.yaml")
	}
	if strings.Contains(res.stderr, "YAML feature left to kustomize") {
		t.Errorf("the error shows the fast path's internal fallback")
	}
}

func TestBugFastPathReadsLeadingZeroAsDecimal(t *testing.T) {
	knownBug(t, "pkg/render's fast path reads an integer with a leading zero as decimal and kustomize as octal: weights "+
		"070/020/010 in base/reviews.yaml are valid when base is built alone (70+20+10) and sum to 80 (56+16+8) when an overlay "+
		"builds it with kustomize; see also FuzzRender's seed testdata/fuzz/FuzzRender/leading-zero-integer")
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

package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/cli"
)

// The tests below pin bugs the bad-input cases once found in other packages
// (unclear errors, output forged by line breaks, a fast path that read YAML
// differently from kustomize): each now runs as a regression test.

// validate runs `reconciler validate` (render and policy gate, no cluster)
// on path of the broken repository.
func validate(t *testing.T, r *badRepo, path string, budget time.Duration, flags ...string) result {
	t.Helper()
	args := append([]string{"validate", filepath.Join(r.Dir, filepath.FromSlash(path))}, flags...)
	return reconciler(t, budget, args...)
}

func TestBugKustomizeErrorsNameTheRepoFile(t *testing.T) {
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

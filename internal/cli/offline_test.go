package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/output"
)

func TestRenderExample(t *testing.T) {
	t.Run("renders the prod overlay deterministically", func(t *testing.T) {
		code, first, stderr := run(t, "render", exampleRepo+"/overlays/prod")
		if code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		wantContains(t, "render output", first,
			"kind: Namespace", "istio-injection: enabled",
			"kind: VirtualService", "name: reviews", "kind: DestinationRule", "kind: Telemetry",
			"app.kubernetes.io/managed-by: meshintent", "meshintent.io/source: base/reviews.yaml")
		_, second, _ := run(t, "render", exampleRepo+"/overlays/prod")
		if first != second {
			t.Errorf("two renders differ (-first +second):\n%s", cmp.Diff(first, second))
		}
	})
	t.Run("renders a commit of a git repository", func(t *testing.T) {
		repo := newExampleRepo(t)
		sha := repo.Git("rev-parse", "HEAD")
		code, out, stderr := run(t, "render", "--repo", repo.URL(), "--ref", sha, "--path", "overlays/staging",
			"--cache-dir", t.TempDir())
		if code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		wantContains(t, "render output", out, "kind: VirtualService")
	})
}

func TestValidateExitCodes(t *testing.T) {
	badWeights := badWeightsVS(t)
	tests := []struct {
		name     string
		change   func(r *gitfixture.Repo)
		wantCode int
		// wantOut and wantErr must all appear in stdout and stderr.
		wantOut, wantErr []string
	}{{
		name:     "the example passes",
		wantCode: ExitOK,
		wantOut:  []string{"valid: "},
	}, {
		name:     "split weights that do not sum to 100 are bad input naming file, line and field",
		change:   edit("overlays/prod/reviews.yaml", "weight: 80", "weight: 70"),
		wantCode: ExitError,
		wantErr:  []string{"overlays/prod/reviews.yaml:", "ServiceIntent/bookinfo/reviews", "spec.split", "90"},
	}, {
		name: "a passed-through VirtualService whose weights do not sum to 100 is denied, naming policy, object and file",
		change: func(r *gitfixture.Repo) {
			addBadWeights(r, badWeights)
		},
		wantCode: ExitDenied,
		wantOut:  []string{"DENY base/mongodb.yaml:9: VirtualService/bookinfo/mongodb spec.tcp[0].route", "meshintent.weights", "denied: "},
	}, {
		name:     "the repository's own policy denies an intent without a team",
		change:   edit("base/details.yaml", "  labels:\n    team: books\n", ""),
		wantCode: ExitDenied,
		wantOut:  []string{"DENY base/details.yaml:", "ServiceIntent/bookinfo/details", "bookinfo.team"},
	}, {
		name:     "an unknown field is bad input naming file, line, object and field",
		change:   edit("base/reviews.yaml", "    - headers:\n        end-user:", "    - headres:\n        end-user:"),
		wantCode: ExitError,
		wantErr:  []string{"base/reviews.yaml:", "ServiceIntent/bookinfo/reviews", "headres", "unknown field"},
	}, {
		name:     "a bad duration is bad input naming the field",
		change:   edit("base/details.yaml", "timeout: 2s", "timeout: 2 seconds"),
		wantCode: ExitError,
		wantErr:  []string{"base/details.yaml:", "ServiceIntent/bookinfo/details", "spec.timeout"},
	}, {
		name:     "a kustomization naming a missing file is bad input",
		change:   edit("base/kustomization.yaml", "- ratings.yaml", "- ratings.yaml\n- missing.yaml"),
		wantCode: ExitError,
		wantErr:  []string{"missing.yaml"},
	}, {
		name: "a kind outside the allow-list is bad input",
		change: func(r *gitfixture.Repo) {
			r.Write("base/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: bookinfo\n")
			r.Edit("base/kustomization.yaml", "- ratings.yaml", "- ratings.yaml\n- secret.yaml")
		},
		wantCode: ExitError,
		wantErr:  []string{"Secret"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newExampleRepo(t)
			if tt.change != nil {
				tt.change(repo)
			}
			code, stdout, stderr := run(t, "validate", repo.Dir+"/overlays/prod")
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tt.wantOut...)
			wantContains(t, "stderr", stderr, tt.wantErr...)
		})
	}
}

func TestValidateTenancyFence(t *testing.T) {
	code, stdout, _ := run(t, "validate", exampleRepo+"/overlays/prod", "--allowed-namespaces", "shop")
	if code != ExitDenied {
		t.Fatalf("exit %d, want 1", code)
	}
	wantContains(t, "output", stdout, "DENY base/namespace.yaml", "NamespaceIntent/bookinfo", "meshintent.tenancy", `namespace "bookinfo" is outside`)
	if code, _, _ := run(t, "validate", exampleRepo+"/overlays/prod", "--allowed-namespaces", "bookinfo"); code != ExitOK {
		t.Errorf("inside the fence: exit %d, want 0", code)
	}
}

func TestValidateJSON(t *testing.T) {
	repo := newExampleRepo(t)
	addBadWeights(repo, badWeightsVS(t))
	got := runJSON[output.ValidateResult](t, ExitDenied, "validate", repo.Dir+"/overlays/prod", "-o", "json")
	if !got.Denied || got.Denials == 0 {
		t.Fatalf("want a denial, got %+v", got)
	}
	first := got.Results[0]
	want := output.Finding{Severity: "deny", Policy: "meshintent.weights", Object: "VirtualService/bookinfo/mongodb", Source: "base/mongodb.yaml"}
	gotKey := output.Finding{Severity: first.Severity, Policy: first.Policy, Object: first.Object, Source: first.Source}
	if diff := cmp.Diff(want, gotKey); diff != "" {
		t.Errorf("first result (-want +got):\n%s", diff)
	}
}

func TestPlanBetweenCommits(t *testing.T) {
	repo := newExampleRepo(t)
	base := repo.Git("rev-parse", "HEAD")
	repo.Git("checkout", "-q", "-b", "canary")
	repo.Edit("overlays/prod/reviews.yaml", "weight: 80", "weight: 60")
	repo.Edit("overlays/prod/reviews.yaml", "weight: 15", "weight: 35")
	repo.Edit("base/kustomization.yaml", "- details.yaml\n", "")
	repo.Remove("base/details.yaml")
	repo.Commit("canary: more reviews v2, drop details")

	t.Run("json lists changed and removed objects with head's policy results", func(t *testing.T) {
		want := []string{
			"changed VirtualService/bookinfo/reviews",
			"removed DestinationRule/bookinfo/details",
			"removed VirtualService/bookinfo/details",
		}
		got := planChanges(t, want, repo.Dir, "--base", base, "--head", "canary", "--path", "overlays/prod", "--cache-dir", t.TempDir())
		if got.Summary.Changed != 1 || got.Summary.Removed != 2 || got.Summary.Unchanged == 0 {
			t.Errorf("summary %+v", got.Summary)
		}
		if !strings.HasPrefix(got.Head, "canary@sha1:") || !strings.HasSuffix(got.Base, base) {
			t.Errorf("revisions base=%q head=%q", got.Base, got.Head)
		}
		for _, c := range got.Changes {
			if c.ID == "VirtualService/bookinfo/reviews" && !(strings.Contains(c.Diff, "-      weight: 84") || strings.Contains(c.Diff, "weight: 6")) {
				t.Errorf("reviews diff does not show the weight change:\n%s", c.Diff)
			}
		}
	})
	t.Run("markdown has a summary table and collapsible diffs", func(t *testing.T) {
		code, stdout, stderr := run(t, "plan", repo.Dir, "--base", base, "--head", "canary",
			"--path", "overlays/prod", "-o", "markdown", "--cache-dir", t.TempDir())
		if code != ExitOK {
			t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
		}
		wantContains(t, "markdown", stdout, "| added | changed | removed |", "| 0 | 1 | 2 |", "<details>", "```diff", "```mermaid", "-.->|0% suspended|")
	})
	t.Run("a head that a policy denies exits 1", func(t *testing.T) {
		addBadWeights(repo, badWeightsVS(t))
		repo.Commit("bad weights")
		code, stdout, _ := run(t, "plan", repo.Dir, "--base", base, "--head", "canary",
			"--path", "overlays/prod", "--cache-dir", t.TempDir())
		if code != ExitDenied {
			t.Errorf("exit %d, want 1\n%s", code, stdout)
		}
		wantContains(t, "text plan", stdout, "meshintent.weights")
	})
	t.Run("an unknown ref exits 2", func(t *testing.T) {
		refuse(t, "nope", "plan", repo.Dir, "--base", "nope", "--head", "canary", "--cache-dir", t.TempDir())
	})
}

func TestSchema(t *testing.T) {
	doc := runJSON[struct {
		OneOf []struct {
			Title                string `json:"title"`
			AdditionalProperties *bool  `json:"additionalProperties"`
		} `json:"oneOf"`
	}](t, ExitOK, "schema")
	var titles []string
	for _, s := range doc.OneOf {
		titles = append(titles, s.Title)
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("%s allows unknown fields", s.Title)
		}
	}
	if diff := cmp.Diff([]string{"NamespaceIntent", "ServiceIntent"}, titles); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

func TestPolicyTest(t *testing.T) {
	t.Run("built-in and example policy tests pass", func(t *testing.T) {
		code, stdout, stderr := run(t, "policy", "test", exampleRepo+"/policies")
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		wantContains(t, "summary", stdout, " 0 failing")
	})
	t.Run("a failing rego test exits 1 and names the test", func(t *testing.T) {
		repo := gitfixture.New(t)
		dir := repo.Dir
		repo.Write("p.rego", "package p\n\ndeny contains \"x\" if input.x\n")
		repo.Write("p_test.rego", "package p_test\n\nimport data.p\n\ntest_never_denies if {\n\tcount(p.deny) == 0 with input as {\"x\": true}\n}\n")
		code, stdout, _ := run(t, "policy", "test", dir)
		if code != ExitDenied || !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "test_never_denies") {
			t.Errorf("exit %d\n%s", code, stdout)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"render without input", []string{"render"}},
		{"render with both a directory and --repo", []string{"render", ".", "--repo", "file:///x"}},
		{"plan without refs", []string{"plan", "."}},
		{"an unknown output format", []string{"validate", exampleRepo + "/overlays/prod", "-o", "yaml"}},
		{"a directory that does not exist", []string{"render", "/does/not/exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != ExitError {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.HasPrefix(stderr, "error: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("want one readable error line, got %q", stderr)
			}
		})
	}
}

package pipeline

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/validate"
)

// loadConfig writes files into a new repository and loads its
// meshintent.yaml. When wantError is set, the load must fail with an error
// containing it, and ok is false; otherwise it must succeed.
func loadConfig(t *testing.T, files map[string]string, wantError string) (cfg RepoConfig, root string, ok bool) {
	t.Helper()
	root = t.TempDir()
	gitfixture.WriteTree(t, root, files)
	cfg, err := LoadRepoConfig(root)
	if wantError != "" {
		if err == nil || !strings.Contains(err.Error(), wantError) {
			t.Fatalf("error %v, want it to contain %q", err, wantError)
		}
		return RepoConfig{}, root, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, root, true
}

func TestLoadRepoConfig(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		wantDirs  []string
		wantError string
	}{
		{name: "no file and no policies dir means no repository policies", files: map[string]string{"x.yaml": ""}},
		{name: "no file but a policies dir uses it", files: map[string]string{"policies/a.rego": "package a\n"}, wantDirs: []string{"policies"}},
		{name: "the file lists directories", files: map[string]string{"meshintent.yaml": "policies: [team, more/rules]\n", "team/a.rego": "", "more/rules/b.rego": ""}, wantDirs: []string{"team", "more/rules"}},
		{name: "an unknown field is an error", files: map[string]string{"meshintent.yaml": "polices: [team]\n"}, wantError: `meshintent.yaml: error unmarshaling JSON: while decoding JSON: json: unknown field "polices"`},
		{name: "a directory outside the repository is refused", files: map[string]string{"meshintent.yaml": "policies: [../elsewhere]\n"}, wantError: `policies[0]: "../elsewhere" is outside the repository`},
		{name: "a missing directory is an error", files: map[string]string{"meshintent.yaml": "policies: [nope]\n"}, wantError: `policies[0]: "nope" is not a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, root, ok := loadConfig(t, tt.files, tt.wantError)
			if !ok {
				return
			}
			var got []string
			for _, d := range cfg.Policies {
				rel, _ := filepath.Rel(root, d)
				got = append(got, filepath.ToSlash(rel))
			}
			if diff := cmp.Diff(tt.wantDirs, got); diff != "" {
				t.Errorf("policy dirs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRepositoryFilesAreConfined builds repositories whose meshintent.yaml,
// policies or data leave the root through symlinks: each is an error naming
// the link.
func TestRepositoryFilesAreConfined(t *testing.T) {
	outside := t.TempDir()
	gitfixture.WriteTree(t, outside, map[string]string{
		"evil.rego":       "package evil\n\ndeny contains \"x\" if { true }\n",
		"data.yaml":       "meshintent:\n  config: {}\n",
		"meshintent.yaml": "policies: []\n",
	})
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string // link → target ("$OUT" is the outside dir)
		want  string
	}{{
		name:  "a policy linked to /etc/passwd",
		files: map[string]string{"policies/ok.rego": "package ok\n"},
		links: map[string]string{"policies/passwd.rego": "/etc/passwd"},
		want:  "policies/passwd.rego: a symlink leads outside the repository: it leads to /etc/passwd",
	}, {
		name:  "a policy linked to a file outside",
		files: map[string]string{"policies/ok.rego": "package ok\n"},
		links: map[string]string{"policies/evil.rego": "$OUT/evil.rego"},
		want:  "policies/evil.rego: a symlink leads outside the repository",
	}, {
		name:  "a data file linked outside",
		files: map[string]string{"policies/ok.rego": "package ok\n"},
		links: map[string]string{"policies/data.yaml": "$OUT/data.yaml"},
		want:  "policies/data.yaml: a symlink leads outside the repository",
	}, {
		name:  "the policies directory linked outside",
		links: map[string]string{"policies": "$OUT"},
		want:  "policies: a symlink leads outside the repository",
	}, {
		name:  "a policy directory of meshintent.yaml linked outside",
		files: map[string]string{"meshintent.yaml": "policies: [rules]\n"},
		links: map[string]string{"rules": "$OUT"},
		want:  "rules: a symlink leads outside the repository",
	}, {
		name:  "a policy directory of meshintent.yaml reached by ..",
		files: map[string]string{"meshintent.yaml": "policies: [base/../../elsewhere]\n"},
		want:  `policies[0]: "base/../../elsewhere" is outside the repository`,
	}, {
		name:  "an absolute policy directory",
		files: map[string]string{"meshintent.yaml": "policies: [/etc]\n"},
		want:  `policies[0]: "/etc" is outside the repository`,
	}, {
		name:  "meshintent.yaml linked outside",
		links: map[string]string{"meshintent.yaml": "$OUT/meshintent.yaml"},
		want:  "meshintent.yaml: a symlink leads outside the repository",
	}, {
		name:  "a symlink loop in the policies",
		files: map[string]string{"policies/ok.rego": "package ok\n"},
		links: map[string]string{"policies/a.rego": "b.rego", "policies/b.rego": "a.rego"},
		want:  "policies/a.rego: a symlink loop",
	}, {
		name:  "a policy over the size limit",
		files: map[string]string{"policies/big.rego": "package big\n\n# " + strings.Repeat("x", validate.DefaultMaxFileSize) + "\n"},
		want:  "reading policy policies/big.rego: the file is 4.0 MiB, more than the limit of 4.0 MiB",
	}}
	for _, tt := range tests {
		t.Run(tt.name+" is refused naming it", func(t *testing.T) {
			root := t.TempDir()
			gitfixture.WriteTree(t, root, tt.files)
			gitfixture.WriteTree(t, root, map[string]string{"app/kustomization.yaml": "resources: []\n"})
			for link, target := range tt.links {
				gitfixture.Symlink(t, filepath.Join(root, link), strings.ReplaceAll(target, "$OUT", outside))
			}
			_, err := Build(t.Context(), Options{Root: root, Path: "app"})
			want := strings.ReplaceAll(tt.want, "$OUT", outside)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to contain %q", err, want)
			}
		})
	}
	t.Run("links that stay inside the repository are followed", func(t *testing.T) {
		root := t.TempDir()
		gitfixture.WriteTree(t, root, map[string]string{
			"app/kustomization.yaml": "resources: []\n",
			"shared/team.rego":       "package team\n\nwarn contains \"hello\" if { input.kind == \"Nothing\" }\n",
			"shared/data.yaml":       "meshintent:\n  config:\n    team: {}\n",
		})
		gitfixture.Symlink(t, filepath.Join(root, "policies"), "shared")
		gitfixture.Symlink(t, filepath.Join(root, "policies/linked.rego"), "../shared/team.rego")
		if _, err := Build(t.Context(), Options{Root: root, Path: "app"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an extra policy directory inside the repository is confined too", func(t *testing.T) {
		root := t.TempDir()
		gitfixture.WriteTree(t, root, map[string]string{"app/kustomization.yaml": "resources: []\n"})
		gitfixture.Symlink(t, filepath.Join(root, "extra"), outside)
		_, err := Build(t.Context(), Options{Root: root, Path: "app", PolicyDirs: []string{filepath.Join(root, "extra")}})
		if want := "extra: a symlink leads outside the repository"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want it to contain %q", err, want)
		}
		if _, ok := errors.AsType[*validate.PolicyError](err); !ok {
			t.Errorf("error %T is not a *validate.PolicyError", err)
		}
	})
}

func TestRepoConfigExceptions(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		want      []validate.Exception
		wantError string
	}{{
		name: "an exception with a date",
		yaml: "ignore: []\nexceptions:\n- policy: meshintent.faults\n  rule: deny\n  objects: [ServiceIntent/bookinfo/reviews]\n  reason: load test\n  expires: 2026-06-30\n",
		want: []validate.Exception{{Policy: "meshintent.faults", Rule: "deny", Objects: []string{"ServiceIntent/bookinfo/reviews"},
			Reason: "load test", Expires: time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.UTC), Source: "meshintent.yaml:3"}},
	}, {
		name: "an exception with a time, the second one",
		yaml: "exceptions:\n- policy: a\n  objects: [x]\n  reason: r\n  expires: \"2026-06-30\"\n- policy: b\n  objects: [VirtualService/a/y, z/*]\n  reason: r\n  expires: 2026-01-02T03:04:05Z\n",
		want: []validate.Exception{
			{Policy: "a", Objects: []string{"x"}, Reason: "r", Expires: time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.UTC), Source: "meshintent.yaml:2"},
			{Policy: "b", Objects: []string{"VirtualService/a/y", "z/*"}, Reason: "r", Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Source: "meshintent.yaml:6"},
		},
	}, {
		name:      "an exception without reason or expiry is refused, naming the line",
		yaml:      "exceptions:\n- policy: a\n  objects: [x]\n",
		wantError: "meshintent.yaml:2: exceptions[0]: reason is required",
	}, {
		name:      "an exception with a bad date is refused",
		yaml:      "exceptions:\n- policy: a\n  objects: [x]\n  reason: r\n  expires: next week\n",
		wantError: `meshintent.yaml:2: exceptions[0]: expires: "next week" is neither a date`,
	}, {
		name:      "an exception without objects is refused",
		yaml:      "exceptions:\n- policy: a\n  reason: r\n  expires: 2026-01-01\n",
		wantError: "meshintent.yaml:2: exceptions[0]: objects is required",
	}, {
		name:      "an unknown field of an exception is refused",
		yaml:      "exceptions:\n- policy: a\n  object: [x]\n",
		wantError: `unknown field "object"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, ok := loadConfig(t, map[string]string{"meshintent.yaml": tt.yaml}, tt.wantError)
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, cfg.PolicyExceptions()); diff != "" {
				t.Errorf("exceptions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildWaivesByMeshintentYAML(t *testing.T) {
	root := t.TempDir()
	gitfixture.WriteTree(t, root, map[string]string{
		"app/kustomization.yaml": "resources: [vs.yaml]\n",
		"app/vs.yaml":            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web, namespace: shop}\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n",
		"policies/team.rego":     "package team\n\ndeny_owner contains \"no owner\" if {\n\tinput.kind == \"VirtualService\"\n\tnot input.metadata.labels.owner\n}\n",
	})
	build := func(t *testing.T, expires string) *Outcome {
		gitfixture.WriteTree(t, root, map[string]string{"meshintent.yaml": "policies: [policies]\nexceptions:\n- policy: team\n  rule: deny_owner\n  objects: [VirtualService/shop/web]\n  reason: owned by platform\n  expires: " + expires + "\n"})
		out, err := Build(t.Context(), Options{Root: root, Path: "app"})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Run("an exception in force waives the denial", func(t *testing.T) {
		out := build(t, time.Now().AddDate(1, 0, 0).Format(time.DateOnly))
		if out.Report.Denied() || out.Report.Waived != 1 {
			t.Fatalf("denied %v, %d waived; want a waived denial: %+v", out.Report.Denied(), out.Report.Waived, out.Report.Results)
		}
	})
	t.Run("an expired exception is a denial again", func(t *testing.T) {
		out := build(t, "2020-01-01")
		if !out.Report.Denied() || out.Report.Waived != 0 {
			t.Fatalf("denied %v, %d waived; want a denial: %+v", out.Report.Denied(), out.Report.Waived, out.Report.Results)
		}
	})
}

func TestRepoConfigSeverity(t *testing.T) {
	sev := func(m map[string]any) map[string]any {
		return map[string]any{"meshintent": map[string]any{"config": map[string]any{"severity": m}}}
	}
	tests := []struct {
		name         string
		yaml         string
		wantData     map[string]any
		wantWarnings []string // "line: message prefix"
		wantError    string
	}{{
		name:     "deny, warn and an unquoted off (a boolean to YAML 1.1) as written",
		yaml:     "severity:\n  meshintent.catchall: deny\n  meshintent.uniquehosts: warn\n  meshintent.gatewayhosts: off\n",
		wantData: sev(map[string]any{"meshintent.catchall": "deny", "meshintent.uniquehosts": "warn", "meshintent.gatewayhosts": "off"}),
	}, {
		name:     "a live check, in a flow map",
		yaml:     "severity: {meshintent.live.subsets: deny, meshintent.live.hosts: \"off\"}\n",
		wantData: sev(map[string]any{"meshintent.live.subsets": "deny", "meshintent.live.hosts": "off"}),
	}, {
		name:         "a policy no built-in reads a severity of warns, and is passed on",
		yaml:         "policies: []\nseverity:\n  team.tracing: deny\n",
		wantData:     sev(map[string]any{"team.tracing": "deny"}),
		wantWarnings: []string{"3: severity for policy team.tracing changes nothing a built-in policy does"},
	}, {
		name:         "the tenancy fence cannot be turned off or to a warning",
		yaml:         "severity:\n  meshintent.tenancy: warn\n  meshintent.catchall: deny\n",
		wantData:     sev(map[string]any{"meshintent.catchall": "deny"}),
		wantWarnings: []string{"2: severity warn for policy meshintent.tenancy is ignored: the tenancy fence is set by the operator"},
	}, {
		name: "deny for the tenancy fence is what it is: no warning, no data",
		yaml: "severity:\n  meshintent.tenancy: deny\n",
	}, {
		name:      "a value other than deny, warn or off is refused, naming its line",
		yaml:      "ignore: []\nseverity:\n  meshintent.catchall: error\n",
		wantError: `meshintent.yaml:3: severity["meshintent.catchall"]: "error" is not a severity: use deny, warn or off`,
	}, {
		name:      "false is not off",
		yaml:      "severity:\n  meshintent.catchall: false\n",
		wantError: `meshintent.yaml:2: severity["meshintent.catchall"]: "false" is not a severity`,
	}, {
		name:      "a number is refused",
		yaml:      "severity:\n  meshintent.catchall: 1\n",
		wantError: `meshintent.yaml:2: severity["meshintent.catchall"]: "1" is not a severity`,
	}, {
		name:      "an empty value is refused",
		yaml:      "severity:\n  meshintent.catchall:\n",
		wantError: "a severity is deny, warn or off, not null",
	}, {
		name:      "a list is refused",
		yaml:      "severity: [meshintent.catchall]\n",
		wantError: "meshintent.yaml: error unmarshaling JSON",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, ok := loadConfig(t, map[string]string{"meshintent.yaml": tt.yaml}, tt.wantError)
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.wantData, cfg.PolicyData()); diff != "" {
				t.Errorf("policy data (-want +got):\n%s", diff)
			}
			var got []string
			for _, w := range cfg.Warnings() {
				if w.Severity != validate.SeverityWarn || w.Source != RepoConfigFile {
					t.Errorf("warning %+v: want severity warn in %s", w, RepoConfigFile)
				}
				got = append(got, fmt.Sprintf("%d: %s", w.Line, w.Message))
			}
			if len(got) != len(tt.wantWarnings) {
				t.Fatalf("warnings %q, want %q", got, tt.wantWarnings)
			}
			for i, w := range tt.wantWarnings {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %q, want it to start with %q", got[i], w)
				}
			}
		})
	}
}

// TestBuildAppliesSeverity builds a VirtualService whose second rule is
// unreachable (IST0130, meshintent.catchall) under meshintent.yaml's
// severities, and over a repository data file that sets it too:
// meshintent.yaml wins, the tenancy fence stays a denial.
func TestBuildAppliesSeverity(t *testing.T) {
	const vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web, namespace: shop}\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n  - match: [{uri: {prefix: /api}}]\n    route:\n    - destination: {host: web}\n"
	tests := []struct {
		name       string
		config     string
		data       string // policies/data.yaml
		fence      []string
		wantDenied bool
		want       map[string]validate.Severity // policy → severity of its result
	}{{
		name: "the default: a warning",
		want: map[string]validate.Severity{"meshintent.catchall": validate.SeverityWarn},
	}, {
		name:       "deny blocks",
		config:     "severity: {meshintent.catchall: deny}\n",
		wantDenied: true,
		want:       map[string]validate.Severity{"meshintent.catchall": validate.SeverityDeny},
	}, {
		name:   "off silences, over a data file's deny",
		config: "policies: [policies]\nseverity: {meshintent.catchall: off}\n",
		data:   "meshintent:\n  config:\n    severity: {meshintent.catchall: deny}\n",
		want:   map[string]validate.Severity{},
	}, {
		name:       "the fence still denies, and the entry is a warning",
		config:     "severity: {meshintent.tenancy: off}\n",
		fence:      []string{"other"},
		wantDenied: true,
		want: map[string]validate.Severity{
			"meshintent.catchall": validate.SeverityWarn,
			"meshintent.tenancy":  validate.SeverityDeny,
			severityPolicy:        validate.SeverityWarn,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := map[string]string{"app/kustomization.yaml": "resources: [vs.yaml]\n", "app/vs.yaml": vs}
			if tt.config != "" {
				files["meshintent.yaml"] = tt.config
			}
			if tt.data != "" {
				files["policies/data.yaml"] = tt.data
			}
			gitfixture.WriteTree(t, root, files)
			out, err := Build(t.Context(), Options{Root: root, Path: "app", Data: FenceData(tt.fence)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]validate.Severity{}
			for _, r := range out.Report.Results {
				got[r.Policy] = r.Severity
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("results by policy (-want +got):\n%s\n%+v", diff, out.Report.Results)
			}
			if out.Report.Denied() != tt.wantDenied {
				t.Errorf("denied %v, want %v", out.Report.Denied(), tt.wantDenied)
			}
			if n := len(out.Report.Filter(validate.SeverityWarn)); n != out.Report.Warnings {
				t.Errorf("%d warnings counted, %d in the results", out.Report.Warnings, n)
			}
		})
	}
}

// Package ci runs the drop-in CI files of examples/ci as their CI systems
// would: it recreates each system's checkout with the git CLI (shallow,
// detached, the same refs and environment variables), puts a reconciler
// built from this tree on PATH and runs the exact shell of the file.
//
// What the test does not run is chosen by one rule per system, so that a
// changed file cannot slip past it: GitHub Actions `uses:` steps are the
// platform's (actions/checkout is the checkout recreated here; the others
// talk to GitHub's API), and the step with id `install` installs the
// released binary; in GitLab, before_script installs the binary and
// after_script posts the note through GitLab's API.
package ci

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/internal/testenv"
)

// binDir holds the reconciler built from this tree.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshintent-ci-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := testenv.Build(context.Background(), "./cmd/reconciler", filepath.Join(dir, "reconciler")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is the Git server's side: a bare repository holding main and a
// pull/merge request branch, plus the refs the platforms keep for it.
type server struct {
	dir string
	// base is main's tip, mergeBase where the feature branched off, head
	// the feature's tip and merge GitHub's merge of head into base.
	base, mergeBase, head, merge string
}

// newServer makes the example repository's history: main, a feature branch
// that changes prod (change is applied to the work tree), a later commit on
// main, and the merge GitHub would test.
func newServer(t *testing.T, change func(r *gitfixture.Repo)) *server {
	t.Helper()
	up := gitfixture.FromDir(t, "../../examples/repo", "bookinfo mesh")
	s := &server{mergeBase: up.Git("rev-parse", "HEAD")}
	up.Git("checkout", "-q", "-b", "feature")
	change(up)
	s.head = up.Commit("the pull request")
	up.Git("checkout", "-q", "main")
	up.Edit("overlays/staging/kustomization.yaml", "resources:", "# main moved on\nresources:")
	s.base = up.Commit("main moves on")
	up.Git("checkout", "-q", "--detach")
	up.Git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
	s.merge = up.Git("rev-parse", "HEAD")
	up.Git("checkout", "-q", "main")

	s.dir = filepath.Join(t.TempDir(), "origin.git")
	up.Git("clone", "-q", "--bare", up.Dir, s.dir)
	gitfixture.Git(t, s.dir, "update-ref", "refs/pull/7/merge", s.merge)
	gitfixture.Git(t, s.dir, "update-ref", "refs/pull/7/head", s.head)
	gitfixture.Git(t, s.dir, "update-ref", "refs/merge-requests/7/head", s.head)
	return s
}

func (s *server) url() string { return "file://" + s.dir }

// shell runs script with bash as the CI system does (-e, pipefail) in dir
// with env and reconciler on PATH, and returns its exit code.
func shell(t *testing.T, dir, script string, env []string) int {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), gitfixture.Env()...), env...)
	cmd.Env = append(cmd.Env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s\n%s", script, out)
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running bash: %v", err)
	}
	return 0
}

// change edits the example repository as a pull request would.
type change struct {
	name string
	edit func(r *gitfixture.Repo)
	// object is the one object the change shows in prod's plan.
	object string
	// denied says head breaks a deny policy: the job must fail.
	denied bool
}

var changes = []change{
	{
		name: "a weight change",
		edit: func(r *gitfixture.Repo) {
			r.Edit("overlays/prod/reviews.yaml", "weight: 80", "weight: 60")
			r.Edit("overlays/prod/reviews.yaml", "weight: 15", "weight: 35")
		},
		object: "VirtualService/bookinfo/reviews",
	},
	{
		name: "a hand-written VirtualService that a policy denies",
		edit: func(r *gitfixture.Repo) {
			r.Write("overlays/prod/mongodb.yaml", badWeightsVS)
			r.Edit("overlays/prod/kustomization.yaml", "- ../../base", "- ../../base\n- mongodb.yaml")
		},
		object: "VirtualService/bookinfo/mongodb",
		denied: true,
	},
}

// badWeightsVS routes 90% of mongodb's traffic: policy meshintent.weights
// denies it.
const badWeightsVS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mongodb, namespace: bookinfo}
spec:
  hosts: [mongodb]
  tcp:
  - route:
    - destination: {host: mongodb, subset: v1}
      weight: 60
    - destination: {host: mongodb, subset: v2}
      weight: 30
`

// workflow is the part of a GitHub Actions workflow the test runs.
type workflow struct {
	Jobs map[string]struct {
		Strategy struct {
			Matrix map[string][]string `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Name string            `yaml:"name"`
			ID   string            `yaml:"id"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func TestGitHubActionsWorkflow(t *testing.T) {
	b, err := os.ReadFile("../../examples/ci/github-actions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("parsing the workflow: %v", err)
	}
	job, ok := wf.Jobs["plan"]
	if !ok || len(job.Steps) == 0 || !strings.HasPrefix(job.Steps[0].Uses, "actions/checkout@") {
		t.Fatalf("want a job plan whose first step is actions/checkout")
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			srv := newServer(t, ch.edit)
			for _, overlay := range job.Strategy.Matrix["overlay"] {
				t.Run("overlay "+overlay, func(t *testing.T) {
					// actions/checkout@v4 of a pull_request event, fetch-depth 1.
					ws := t.TempDir()
					gitfixture.Git(t, ws, "init", "-q")
					gitfixture.Git(t, ws, "remote", "add", "origin", srv.url())
					gitfixture.Git(t, ws, "fetch", "-q", "--no-tags", "--prune", "--no-recurse-submodules", "--depth=1",
						"origin", "+"+srv.merge+":refs/remotes/pull/7/merge")
					gitfixture.Git(t, ws, "checkout", "-q", "--force", "refs/remotes/pull/7/merge")
					if got := gitfixture.Git(t, ws, "rev-parse", "--is-shallow-repository"); got != "true" {
						t.Fatalf("checkout is not shallow")
					}
					ghOutput := filepath.Join(t.TempDir(), "github_output")
					env := []string{
						"CI=true", "GITHUB_ACTIONS=true", "GITHUB_EVENT_NAME=pull_request",
						"GITHUB_BASE_REF=main", "GITHUB_HEAD_REF=feature", "GITHUB_REF=refs/pull/7/merge",
						"GITHUB_SHA=" + srv.merge, "GITHUB_WORKSPACE=" + ws, "GITHUB_OUTPUT=" + ghOutput,
					}
					outputs := map[string]map[string]string{}
					subst := func(s string) string {
						return expr.ReplaceAllStringFunc(s, func(m string) string {
							e := expr.FindStringSubmatch(m)[1]
							parts := strings.Split(e, ".")
							switch {
							case e == "matrix.overlay":
								return overlay
							case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
								return outputs[parts[1]][parts[3]]
							}
							t.Fatalf("expression %q: the test knows matrix.overlay and steps.<id>.outputs.<name>", e)
							return ""
						})
					}
					verdict := -1
					ran := 0
					for _, step := range job.Steps {
						switch {
						case step.Uses != "":
							checkUses(t, ws, step.Uses, step.With, subst)
							continue
						case step.ID == "install":
							continue
						case step.If != "":
							t.Fatalf("step %q: run steps with if: are not recreated by this test", step.Name)
						}
						stepEnv := append([]string{}, env...)
						for k, v := range step.Env {
							stepEnv = append(stepEnv, k+"="+subst(v))
						}
						if err := os.WriteFile(ghOutput, nil, 0o644); err != nil {
							t.Fatal(err)
						}
						code := shell(t, ws, subst(step.Run), stepEnv)
						ran++
						if step.ID != "" {
							outputs[step.ID] = readOutputs(t, ghOutput)
						}
						if step.Name == "Verdict" {
							verdict = code
							continue
						}
						if code != 0 {
							t.Fatalf("step %q exited %d", step.Name, code)
						}
					}
					if ran < 3 {
						t.Fatalf("ran %d run steps; want the base fetch, the plan and the verdict", ran)
					}
					wantExit := "0"
					if ch.denied && overlay == "prod" {
						wantExit = "1"
					}
					if got := outputs["plan"]["exit"]; got != wantExit {
						t.Errorf("plan step output exit=%q, want %q", got, wantExit)
					}
					if (verdict != 0) != (wantExit != "0") {
						t.Errorf("Verdict step exited %d; plan exit was %s", verdict, wantExit)
					}
					checkPlanFiles(t, ws, overlay, ch, "plan-"+overlay+".sarif")
				})
			}
		})
	}
}

// checkUses checks that a platform step reads files the run steps wrote.
func checkUses(t *testing.T, ws, uses string, with map[string]string, subst func(string) string) {
	t.Helper()
	var files []string
	switch {
	case strings.HasPrefix(uses, "actions/checkout@"), strings.HasPrefix(uses, "actions/setup-go@"):
		return
	case strings.HasPrefix(uses, "actions/github-script@"):
		m := regexp.MustCompile(`readFileSync\('([^']+)'`).FindStringSubmatch(with["script"])
		if m == nil {
			t.Fatalf("%s: the comment script reads no file", uses)
		}
		files = []string{m[1]}
	case strings.HasPrefix(uses, "github/codeql-action/upload-sarif@"):
		files = []string{subst(with["sarif_file"])}
	case strings.HasPrefix(uses, "actions/upload-artifact@"):
		files = strings.Fields(subst(with["path"]))
	default:
		t.Fatalf("%s: the test does not know this action", uses)
	}
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(ws, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s reads %s, which the steps before did not write", uses, f)
		}
	}
}

func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// checkPlanFiles checks the comment, the full plan and the machine-readable
// report (SARIF or JUnit) a CI job left in ws.
func checkPlanFiles(t *testing.T, ws, overlay string, ch change, report string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(ws, name))
		if err != nil {
			t.Fatalf("the job did not write %s: %v", name, err)
		}
		return string(b)
	}
	comment, full := read("comment.md"), read("plan-"+overlay+".md")
	for name, md := range map[string]string{"comment.md": comment, "the full plan": full} {
		if !strings.Contains(md, "meshintent plan") {
			t.Errorf("%s lacks the plan's title:\n%s", name, md)
		}
		changed := strings.Contains(md, ch.object)
		if want := overlay == "prod"; changed != want {
			t.Errorf("%s: shows "+ch.object+": %v, want %v (overlay %s)\n%s", name, changed, want, overlay, md)
		}
		if strings.Contains(md, "main moves on") || strings.Contains(md, "# main moved on") {
			t.Errorf("%s shows a change of main's, not the pull request's", name)
		}
	}
	if ch.denied && overlay == "prod" && !strings.Contains(comment, "meshintent.weights") {
		t.Errorf("comment.md does not name the denying policy:\n%s", comment)
	}
	rep := read(report)
	switch {
	case strings.HasSuffix(report, ".sarif"):
		var sarif struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID string `json:"ruleId"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(rep), &sarif); err != nil {
			t.Fatalf("%s is not JSON: %v", report, err)
		}
		if sarif.Version != "2.1.0" || len(sarif.Runs) == 0 {
			t.Fatalf("%s: version %q, %d runs", report, sarif.Version, len(sarif.Runs))
		}
		var rules []string
		for _, r := range sarif.Runs[0].Results {
			rules = append(rules, r.RuleID)
		}
		if ch.denied && overlay == "prod" && !strings.Contains(strings.Join(rules, " "), "meshintent.weights") {
			t.Errorf("%s results %v lack meshintent.weights", report, rules)
		}
	case strings.HasSuffix(report, ".xml"):
		var junit struct {
			XMLName xml.Name
			Fail    int `xml:"failures,attr"`
		}
		if err := xml.Unmarshal([]byte(rep), &junit); err != nil {
			t.Fatalf("%s is not XML: %v", report, err)
		}
		if n := junit.XMLName.Local; n != "testsuites" && n != "testsuite" {
			t.Errorf("%s: root element %q", report, n)
		}
		if ch.denied && overlay == "prod" && !strings.Contains(rep, "meshintent.weights") {
			t.Errorf("%s lacks the denying policy:\n%s", report, rep)
		}
	}
}

// gitlabJob is the part of a .gitlab-ci.yml job the test runs.
type gitlabJob struct {
	Parallel struct {
		Matrix []map[string][]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	AfterScript  []string          `yaml:"after_script"`
}

func TestGitLabCIJob(t *testing.T) {
	b, err := os.ReadFile("../../examples/ci/gitlab-ci.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]gitlabJob
	if err := yaml.Unmarshal(b, &jobs); err != nil {
		t.Fatalf("parsing the job: %v", err)
	}
	job, ok := jobs["meshintent-plan"]
	if !ok || len(job.Script) == 0 || len(job.Parallel.Matrix) != 1 {
		t.Fatalf("want a job meshintent-plan with a script and one matrix")
	}
	if job.Variables["GIT_DEPTH"] != "1" {
		t.Errorf("GIT_DEPTH %q: the job is meant to run in a shallow checkout", job.Variables["GIT_DEPTH"])
	}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			srv := newServer(t, ch.edit)
			for _, overlay := range job.Parallel.Matrix[0]["OVERLAY"] {
				t.Run("overlay "+overlay, func(t *testing.T) {
					// The runner's checkout of a merge request pipeline with
					// GIT_DEPTH 1: detached at the head commit.
					ws := t.TempDir()
					gitfixture.Git(t, ws, "init", "-q")
					gitfixture.Git(t, ws, "remote", "add", "origin", srv.url())
					gitfixture.Git(t, ws, "fetch", "-q", "--prune", "--depth", job.Variables["GIT_DEPTH"], "origin",
						"+refs/heads/feature:refs/remotes/origin/feature",
						"+refs/merge-requests/7/head:refs/merge-requests/7/head")
					gitfixture.Git(t, ws, "checkout", "-q", "-f", srv.head)
					env := []string{
						"CI=true", "GITLAB_CI=true", "CI_PIPELINE_SOURCE=merge_request_event",
						"CI_COMMIT_SHA=" + srv.head, "CI_MERGE_REQUEST_IID=7",
						"CI_MERGE_REQUEST_DIFF_BASE_SHA=" + srv.mergeBase,
						"CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=feature",
						"CI_PROJECT_DIR=" + ws, "OVERLAY=" + overlay,
					}
					for k, v := range job.Variables {
						env = append(env, k+"="+v)
					}
					// GitLab runs the script's lines in one shell.
					code := shell(t, ws, strings.Join(job.Script, "\n"), env)
					want := 0
					if ch.denied && overlay == "prod" {
						want = 1
					}
					if code != want {
						t.Errorf("script exited %d, want %d", code, want)
					}
					checkPlanFiles(t, ws, overlay, ch, "plan-"+overlay+".junit.xml")
				})
			}
		})
	}
}

// hook is one entry of .pre-commit-hooks.yaml.
type hook struct {
	ID            string   `yaml:"id"`
	Entry         string   `yaml:"entry"`
	Args          []string `yaml:"args"`
	Language      string   `yaml:"language"`
	PassFilenames *bool    `yaml:"pass_filenames"`
}

// TestPreCommitHook runs the hook's command as pre-commit would (entry,
// then args, no file names) in an intent repository with uncommitted
// changes: what is on disk is validated.
func TestPreCommitHook(t *testing.T) {
	b, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []hook
	if err := yaml.Unmarshal(b, &hooks); err != nil {
		t.Fatalf("parsing the hooks: %v", err)
	}
	var h *hook
	for i := range hooks {
		if hooks[i].ID == "meshintent-validate" {
			h = &hooks[i]
		}
	}
	if h == nil || h.Language != "golang" || h.PassFilenames == nil || *h.PassFilenames {
		t.Fatalf("want hook meshintent-validate, language golang, pass_filenames false; got %+v", h)
	}
	if strings.Join(h.Args, " ") != "." {
		t.Errorf("default args %q, want [.]", h.Args)
	}
	// pre-commit runs the entry, split like a shell would, then the args; an
	// intent repository's .pre-commit-config.yaml names its overlay with
	// args: [overlays/prod], which replaces the default.
	command := h.Entry + " overlays/prod"

	repo := gitfixture.FromDir(t, "../../examples/repo", "bookinfo mesh")
	tests := []struct {
		name     string
		edit     func()
		want     int
		wantText string
	}{
		{"a clean work tree passes", func() {}, 0, "valid:"},
		{"an uncommitted weight change passes", func() {
			repo.Edit("overlays/prod/reviews.yaml", "weight: 80", "weight: 60")
			repo.Edit("overlays/prod/reviews.yaml", "weight: 15", "weight: 35")
		}, 0, "valid:"},
		{"an untracked, denied VirtualService fails the commit", func() {
			repo.Write("base/mongodb.yaml", badWeightsVS)
			repo.Edit("base/kustomization.yaml", "resources:", "resources:\n- mongodb.yaml")
		}, 1, "meshintent.weights"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.edit()
			if st := gitfixture.Git(t, repo.Dir, "status", "--porcelain"); (st == "") != (tt.name == "a clean work tree passes") {
				t.Fatalf("git status %q", st)
			}
			out := filepath.Join(t.TempDir(), "out")
			code := shell(t, repo.Dir, command+" > "+out+" 2>&1", nil)
			b, _ := os.ReadFile(out)
			if code != tt.want || !strings.Contains(string(b), tt.wantText) {
				t.Errorf("%s: exit %d, want %d with %q\n%s", command, code, tt.want, tt.wantText, b)
			}
		})
	}
}

package policies_test

import (
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/policies"
)

// TestREADMEPolicyTable keeps the policy table of the README's "## Policies"
// section and the built-in policies in sync: every package of policies.FS
// with deny or warn rules has a row (| `meshintent.x` | what it does | exit |),
// every row names such a package, and the exit column says what the tool
// does when the policy matches: 1 when the package has a deny rule that is
// on by default (the command exits 1, denied), 0 when it only warns or its
// default severity (policies/data.yaml) is warn.
func TestREADMEPolicyTable(t *testing.T) {
	builtin := builtinPolicies(t)
	if len(builtin) == 0 {
		t.Fatal("no built-in policy with deny or warn rules in policies.FS")
	}
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows, exitCol := policyTable(t, string(b))
	severity, err := policies.DefaultSeverities()
	if err != nil {
		t.Fatal(err)
	}

	want, got := slices.Sorted(maps.Keys(builtin)), slices.Sorted(maps.Keys(rows))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README's policy table and the built-in policies differ (-built-in +README):\n%s", diff)
	}

	if exitCol < 0 {
		t.Fatal(`README's policy table has no "exit" column`)
	}
	for pkg, denies := range builtin {
		row, ok := rows[pkg]
		if !ok || exitCol >= len(row) {
			continue
		}
		want := "0"
		if denies && severity[pkg] != "warn" {
			want = "1"
		}
		if cell := strings.Trim(row[exitCol], " `"); !strings.HasPrefix(cell, want) {
			t.Errorf("README says %s exits %q, want %s (%s)", pkg, row[exitCol], want,
				map[bool]string{true: "it has deny rules", false: "it only warns"}[denies])
		}
	}
}

var (
	packageLine = regexp.MustCompile(`(?m)^package\s+([\w.]+)`)
	denyRule    = regexp.MustCompile(`(?m)^deny\w*\b`)
	warnRule    = regexp.MustCompile(`(?m)^warn\w*\b`)
	policyRow   = regexp.MustCompile("^\\|\\s*`(meshintent\\.[\\w.]+)`\\s*\\|")
)

// builtinPolicies maps each package of policies.FS that has deny or warn
// rules to whether it has a deny rule. Unit tests (_test.rego) and helper
// packages without such rules (meshintent.lib...) are left out.
func builtinPolicies(t *testing.T) map[string]bool {
	t.Helper()
	files, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.rego") {
			continue
		}
		b, err := fs.ReadFile(policies.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		m := packageLine.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no package line", f)
		}
		deny, warn := denyRule.Match(b), warnRule.Match(b)
		if deny || warn {
			out[string(m[1])] = out[string(m[1])] || deny
		}
	}
	return out
}

// policyTable returns the rows of the table in README's "## Policies"
// section, by policy, as cells, and the index of its "exit" column (-1
// when it has none).
func policyTable(t *testing.T, readme string) (map[string][]string, int) {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Policies\n")
	if !ok {
		t.Fatal(`README.md has no "## Policies" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	rows := map[string][]string{}
	exitCol := -1
	header := true
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if header {
			for i, c := range cells {
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(c)), "exit") {
					exitCol = i
				}
			}
			header = false
			continue
		}
		if m := policyRow.FindStringSubmatch(line); m != nil {
			if _, dup := rows[m[1]]; dup {
				t.Errorf("README lists %s twice", m[1])
			}
			rows[m[1]] = cells
		}
	}
	if len(rows) == 0 {
		t.Fatal(`README's "## Policies" section has no rows like | ` + "`meshintent.x`" + ` | … |`)
	}
	return rows, exitCol
}

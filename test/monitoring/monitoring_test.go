package monitoring

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// monitoringDir is config/monitoring from this package.
const monitoringDir = "../../config/monitoring"

// readFile reads a file of config/monitoring.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// prometheusRule is the part of a PrometheusRule the tests read.
type prometheusRule struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// rules decodes prometheusrule.yaml.
func rules(t *testing.T) (*prometheusRule, []byte) {
	t.Helper()
	raw := readFile(t, "prometheusrule.yaml")
	pr := &prometheusRule{}
	if err := yaml.Unmarshal(raw, pr); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if pr.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml is a %q, want a PrometheusRule", pr.Kind)
	}
	return pr, raw
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) *dashboard {
	t.Helper()
	d := &dashboard{}
	if err := json.Unmarshal(readFile(t, "dashboard.json"), d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	return d
}

var metricName = regexp.MustCompile(`\bmeshintent_[a-z_]+`)

// usedMetrics returns the metric names the dashboard and the rules use,
// each with where it is used. A histogram's _bucket, _sum and _count
// series are named by the histogram.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(expr, where string) {
		for _, n := range metricName.FindAllString(expr, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(n, suffix); ok && strings.HasSuffix(base, "_seconds") {
					n = base
				}
			}
			used[n] = append(used[n], where)
		}
	}
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			add(tg.Expr, "dashboard panel "+strconv.Quote(p.Title))
		}
	}
	for _, v := range d.Templating.List {
		add(v.Definition, "dashboard variable "+v.Name)
	}
	pr, _ := rules(t)
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			add(r.Expr, "alert "+r.Alert)
		}
	}
	return used
}

// TestDashboard checks the dashboard's shape: namespace and name
// variables, and a query in every panel that uses them or a metric without
// those labels.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	for _, want := range []string{"namespace", "name"} {
		if !slices.Contains(vars, want) {
			t.Errorf("dashboard variables %v lack %q", vars, want)
		}
	}
	if len(d.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	// Metrics without per-IntentSync labels cannot be filtered.
	global := regexp.MustCompile(`meshintent_(reconcile_total|render_fallbacks_total|webhook_[a-z_]+)\b`)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !global.MatchString(tg.Expr) && !strings.Contains(tg.Expr, `namespace=~"$namespace", name=~"$name"`) {
				t.Errorf("panel %q: query %q ignores the namespace and name variables", p.Title, tg.Expr)
			}
		}
	}
}

// TestRules runs `promtool check rules` and `promtool test rules` on the
// PrometheusRule's spec, extracted to a plain rules file as the Prometheus
// Operator hands it to Prometheus.
func TestRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (test/tools/install.sh installs it): %v", err)
	}
	_, raw := rules(t)
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	spec, err := yaml.Marshal(obj["spec"])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yaml"), readFile(t, "rules_test.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules_test.yaml"}} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertHasAUnitTest checks that rules_test.yaml tests each alert
// of the PrometheusRule.
func TestEveryAlertHasAUnitTest(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, "rules_test.yaml"), &tests); err != nil {
		t.Fatal(err)
	}
	// fires and silent: an alert's test must see it fire and not fire.
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	pr, _ := rules(t)
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && (!fires[r.Alert] || !silent[r.Alert]) {
				t.Errorf("alert %s: rules_test.yaml must test that it fires (%v) and that it stays silent (%v)", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
}

package plan

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/graph"
)

// TrafficDiagram draws a VirtualService's HTTP traffic before and after a
// change as a Mermaid flowchart: each rule with its match conditions, and
// each destination with its weight. Suspended destinations (weight 0) are
// drawn dashed, aborts and faults are named. base or head may be nil (the
// object was added or removed). It returns "" when neither is a
// VirtualService with HTTP routes.
func TrafficDiagram(base, head *unstructured.Unstructured) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	drawn := false
	for _, side := range []struct {
		name string
		vs   *unstructured.Unstructured
	}{{"before", base}, {"after", head}} {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n    direction LR\n", side.name, side.name)
		if side.vs == nil || side.vs.GetKind() != "VirtualService" {
			fmt.Fprintf(&b, "    %s_none[\"(no VirtualService)\"]\n", side.name)
		} else if drawVirtualService(&b, side.name, side.vs) {
			drawn = true
		}
		b.WriteString("  end\n")
	}
	if !drawn {
		return ""
	}
	return b.String()
}

func drawVirtualService(b *strings.Builder, prefix string, vs *unstructured.Unstructured) bool {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if len(http) == 0 {
		return false
	}
	host := prefix + "_host"
	fmt.Fprintf(b, "    %s([\"%s\"])\n", host, label(vs.GetName()))
	for i, r := range http {
		rule, _ := r.(map[string]any)
		node := fmt.Sprintf("%s_r%d", prefix, i)
		fmt.Fprintf(b, "    %s{\"%s\"}\n", node, label(matchLabel(rule)))
		fmt.Fprintf(b, "    %s -->|%d| %s\n", host, i+1, node)
		if code, ok := abortStatus(rule, 100); ok {
			fmt.Fprintf(b, "    %s_abort[\"abort %d\"]\n    %s --> %s_abort\n", node, code, node, node)
			continue
		}
		routes, _, _ := unstructured.NestedSlice(rule, "route")
		for j, d := range routes {
			dest, _ := d.(map[string]any)
			target := fmt.Sprintf("%s_r%d_d%d", prefix, i, j)
			h, _, _ := unstructured.NestedString(dest, "destination", "host")
			subset, _, _ := unstructured.NestedString(dest, "destination", "subset")
			name := h
			if subset != "" {
				name += " " + subset
			}
			fmt.Fprintf(b, "    %s[\"%s\"]\n", target, label(name))
			weight, hasWeight, _ := unstructured.NestedInt64(dest, "weight")
			switch {
			case !hasWeight && len(routes) == 1:
				fmt.Fprintf(b, "    %s -->|100%%| %s\n", node, target)
			case weight == 0:
				fmt.Fprintf(b, "    %s -.->|0%% suspended| %s\n", node, target)
			default:
				fmt.Fprintf(b, "    %s -->|%d%%| %s\n", node, weight, target)
			}
		}
		if f := faultLabel(rule); f != "" {
			fmt.Fprintf(b, "    %s_fault>\"%s\"]\n    %s_fault -.- %s\n", node, label(f), node, node)
		}
	}
	return true
}

// matchLabel describes a rule's match entries as the traffic graph does;
// no match is "all requests".
func matchLabel(rule map[string]any) string {
	if l := graph.MatchLabel(rule); l != "" {
		return l
	}
	return "all requests"
}

// abortStatus reports an abort fault that hits at least pct percent.
func abortStatus(rule map[string]any, pct float64) (int64, bool) {
	code, ok, _ := unstructured.NestedInt64(rule, "fault", "abort", "httpStatus")
	if !ok {
		return 0, false
	}
	got, found, _ := unstructured.NestedFloat64(rule, "fault", "abort", "percentage", "value")
	if !found {
		if n, ok, _ := unstructured.NestedInt64(rule, "fault", "abort", "percentage", "value"); ok {
			got, found = float64(n), true
		}
	}
	if found && got < pct {
		return 0, false
	}
	return code, true
}

func faultLabel(rule map[string]any) string {
	var parts []string
	if d, ok, _ := unstructured.NestedString(rule, "fault", "delay", "fixedDelay"); ok {
		parts = append(parts, "delay "+d)
	}
	if code, ok, _ := unstructured.NestedInt64(rule, "fault", "abort", "httpStatus"); ok {
		if _, full := abortStatus(rule, 100); !full {
			parts = append(parts, fmt.Sprintf("abort %d (partial)", code))
		}
	}
	if m, ok, _ := unstructured.NestedString(rule, "mirror", "subset"); ok {
		parts = append(parts, "mirror to "+m)
	}
	return strings.Join(parts, ", ")
}

// labelEscapes makes text from the repository safe inside a quoted Mermaid
// label: '#' starts Mermaid's entity codes, so it is one itself; quotes,
// angle brackets (HTML), pipes (edge labels) and backticks (Markdown
// strings) are entities too, and line breaks become spaces so that the text
// cannot end the statement.
var labelEscapes = strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;",
	"`", "#96;", "\r\n", " ", "\n", " ", "\r", " ")

// label makes text safe inside a quoted Mermaid label.
func label(s string) string { return labelEscapes.Replace(s) }

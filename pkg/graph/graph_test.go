package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/expand"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// render decodes a ServiceIntent and expands it, as the render stage does.
func render(t *testing.T, src string) manifest.Set {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	doc, err := intent.Decode(raw, "base/reviews.yaml", 1)
	if err != nil {
		t.Fatalf("decoding intent: %v", err)
	}
	return expand.Expand(doc)
}

// shape is a graph as comparable text: the versions with their state, and
// each rule as "label → to:weight …" with its marks.
type shape struct {
	Versions []string
	Rules    []string
}

func shapeOf(g Graph) shape {
	var s shape
	for _, v := range g.Versions {
		e := v.Label()
		switch {
		case v.Suspended:
			e += " suspended"
		case v.Unrouted:
			e += " unrouted"
		case v.MirrorOnly:
			e += " mirror-only"
		}
		s.Versions = append(s.Versions, e)
	}
	for _, r := range g.Rules {
		var parts []string
		for _, e := range r.Edges {
			parts = append(parts, fmt.Sprintf("%s:%d", e.To, e.Weight))
		}
		line := r.Label() + " → " + strings.Join(parts, " ")
		if r.Abort != 0 {
			line += fmt.Sprintf(" [abort %d]", r.Abort)
		}
		if r.Fault != "" {
			line += " [fault " + r.Fault + "]"
		}
		if r.Mirror != "" {
			line += fmt.Sprintf(" [mirror %s %g%%]", r.Mirror, r.MirrorPercent)
		}
		s.Rules = append(s.Rules, line)
	}
	return s
}

const head = gitfixture.ReviewsHead

func TestBuildFromIntents(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want shape
	}{{
		name: "a split is one catch-all rule with a weighted edge per version",
		spec: `  split:
  - {version: v1, weight: 80}
  - {version: v2, weight: 15}
  - {version: v3, weight: 5}
`,
		want: shape{
			Versions: []string{"v1", "v2", "v3"},
			Rules:    []string{"all other requests → v1:80 v2:15 v3:5"},
		},
	}, {
		name: "header and URI matches are labelled branches before the split",
		spec: `  routes:
  - name: jason
    match:
    - headers: {end-user: {exact: jason}}
    to: [{version: v2}]
  - name: beta
    match:
    - uri: {prefix: /beta}
      method: {exact: GET}
    - queryParams: {debug: {regex: "^1$"}}
    to: [{version: v3, weight: 50}, {version: v1, weight: 50}]
  split:
  - {version: v1, weight: 100}
  - {version: v2, weight: 0}
`,
		want: shape{
			Versions: []string{"v1", "v2", "v3"},
			Rules: []string{
				"jason: header end-user = jason → v2:100",
				"beta: uri starts /beta AND method = GET OR query debug ~ ^1$ → v3:50 v1:50",
				"all other requests → v1:100 v2:0",
			},
		},
	}, {
		name: "a suspended version gets weight 0 everywhere and is marked",
		spec: `  routes:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    to: [{version: v2, weight: 50}, {version: v3, weight: 50}]
  - name: beta
    match: [{uri: {prefix: /beta}}]
    to: [{version: v3}]
  split:
  - {version: v1, weight: 60}
  - {version: v2, weight: 35}
  - {version: v3, weight: 5}
  suspend:
    versions: [v3]
    reason: INC-1
`,
		want: shape{
			Versions: []string{"v1", "v2", "v3 suspended"},
			Rules: []string{
				"jason: header end-user = jason → v2:100 v3:0",
				"all other requests → v1:63 v2:37 v3:0",
			},
		},
	}, {
		name: "a version no route names is unrouted, not suspended",
		spec: `  routes:
  - match: [{headers: {x-canary: {exact: "1"}}}]
    to: [{version: v2}]
  split:
  - {version: v1, weight: 100}
`,
		want: shape{
			Versions: []string{"v1", "v2", "v3 unrouted"},
			Rules: []string{
				"header x-canary = 1 → v2:100",
				"all other requests → v1:100",
			},
		},
	}, {
		name: "fault injection and mirroring are marked on every rule",
		spec: `  split:
  - {version: v1, weight: 90}
  - {version: v2, weight: 10}
  fault:
    delay: 5s
    percentage: 10
  mirror:
    version: v3
    percentage: 25
`,
		want: shape{
			Versions: []string{"v1", "v2", "v3 mirror-only"},
			Rules:    []string{"all other requests → v1:90 v2:10 [fault delay 5s (10%)] [mirror v3 25%]"},
		},
	}, {
		name: "suspend.all aborts every request and routes nothing",
		spec: `  split:
  - {version: v1, weight: 50}
  - {version: v2, weight: 50}
  suspend:
    all: true
    httpStatus: 503
    reason: maintenance
`,
		want: shape{
			Versions: []string{"v1 suspended", "v2 suspended", "v3 unrouted"},
			Rules:    []string{"all other requests → v1:50 v2:50 [abort 503]"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graphs := FromSet(render(t, head+tt.spec))
			if len(graphs) != 1 {
				t.Fatalf("got %d graphs, want 1", len(graphs))
			}
			g := graphs[0]
			if g.Namespace != "bookinfo" || g.Name != "reviews" || g.Source != "base/reviews.yaml" {
				t.Errorf("graph of %s/%s from %q, want bookinfo/reviews from base/reviews.yaml", g.Namespace, g.Name, g.Source)
			}
			if diff := cmp.Diff(tt.want, shapeOf(g)); diff != "" {
				t.Errorf("graph (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildHandMadeObjects(t *testing.T) {
	// A live VirtualService with FQDN hosts, another service as a
	// destination, and a DestinationRule naming the host by its FQDN.
	objs := parse(t, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings.shop.svc.cluster.local]
  http:
  - route:
    - destination: {host: ratings.shop.svc.cluster.local, subset: v1}
      weight: 70
    - destination: {host: legacy-ratings.other.svc.cluster.local}
      weight: 30
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings
  subsets: [{name: v1}, {name: v2}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
`)
	graphs := Build(objs)
	if len(graphs) != 1 {
		t.Fatalf("got %d graphs, want 1", len(graphs))
	}
	want := shape{
		Versions: []string{"v1", "v2 unrouted", "legacy-ratings.other.svc.cluster.local"},
		Rules:    []string{"all other requests → v1:70 legacy-ratings.other.svc.cluster.local/:30"},
	}
	if diff := cmp.Diff(want, shapeOf(graphs[0])); diff != "" {
		t.Errorf("graph (-want +got):\n%s", diff)
	}
}

func parse(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(stream, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

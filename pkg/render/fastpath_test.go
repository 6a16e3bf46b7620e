package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/render/fastpath"
)

// tricky holds YAML that a hand-written reader could get wrong.
const tricky = `---
# leading separator and comment
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: "external-api"
  namespace: bookinfo
  labels: {yes-label: "yes", on: "on", plain: yes, number: "0123"}
  annotations:
    multi: |
      line one
      line two
    folded: >
      folded
      text
    empty: ""
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  ports:
  - number: 443
    name: https
    protocol: TLS
  - number: 0x50
    name: hex
    protocol: HTTP
  endpoints: []
  exportTo: ~
  resolution: DNS
  subjectAltNames: null
  workloadSelector: {}
  extra:
    float: 1.50
    exp: 1e3
    neg: -7
    big: 9007199254740993
    bool: true
    off: off
    oneish: 1.0
    zero: -0.0
    unicode: "héllo ✓"
    quoted: '5'
    "key with: colon": value
  # YAML 1.1 forms and yaml.v3's own readings, which kustomize decodes
  # with yaml.v3: a leading zero is octal, the rest are strings.
  yaml11:
    octal: 010
    negativeOctal: -010
    plusOctal: +010
    zeroes: 0009
    notOctal: 08
    underscoreOctal: 0_10
    underscores: 1__000
    o: 0o17
    hex: 0x1F
    negativeHex: -0x1F
    hexUnderscores: 0xFF_FF
    bin: 0b101
    plus: +12
    sexagesimal: 1:20
    sexagesimalFloat: 190:20:30.15
    floatLeadingZero: 07.5e1
    floatUnderscores: 1_0.5
    bigFloat: 1e17
    float2to60: 1.152921504606846976e18
    bools: [yes, no, on, off, y, n, Yes, NO, True, FALSE]
    nulls: [~, Null, NULL, null]
---
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: bookinfo}
spec: {}
`

func TestFastPathMatchesKustomizeOnTrickyYAML(t *testing.T) {
	root, _ := writeRepo(t, map[string]string{
		"overlays/a/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\n- extra.yaml\n",
		"overlays/a/extra.yaml":         testVS,
		"base/kustomization.yaml":       "resources:\n- tricky.yaml\n- nested\n",
		"base/tricky.yaml":              tricky,
		"base/nested/kustomization.yml": "resources:\n- reviews.yaml\n",
		"base/nested/reviews.yaml":      testIntent,
	})
	r, dir, err := newRenderer(Options{Root: root, Path: "overlays/a"})
	if err != nil {
		t.Fatal(err)
	}
	top, err := fastpath.Scan(r.fs, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !top.Plain {
		t.Fatal("tree is not plain")
	}
	fast, err := r.fastBuilder().Build(context.Background(), top)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := r.kustomizeBuilder().Build(context.Background(), dir, top)
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) != 4 {
		t.Errorf("fast path built %d objects, want 4", len(fast))
	}
	if diff := cmp.Diff(index(slow), index(fast)); diff != "" {
		t.Errorf("fast path differs from kustomize (-kustomize +fast):\n%s", diff)
	}
}

func TestFastPathLeavesSpecialInputToKustomize(t *testing.T) {
	tests := map[string]string{
		"a timestamp":            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: ns, labels: {a: b}}\nspec: {when: 2024-01-02}\n",
		"an alias":               "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: ns, labels: &l {a: b}, annotations: *l}\n",
		"a List":                 "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(testVS), "\n", "\n  ") + "\n",
		"a local-config object":  "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s\n  namespace: ns\n  annotations: {config.kubernetes.io/local-config: \"true\"}\n---\n" + testVS,
		"a kustomize annotation": "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s\n  namespace: ns\n  annotations: {kustomize.config.k8s.io/behavior: merge}\n",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			root, _ := writeRepo(t, map[string]string{"kustomization.yaml": "resources:\n- x.yaml\n", "x.yaml": content})
			r, dir, err := newRenderer(Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			top, err := fastpath.Scan(r.fs, dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.fastBuilder().Build(context.Background(), top); !errors.Is(err, fastpath.ErrNotFast) {
				t.Errorf("fastBuild error = %v, want fastpath.ErrNotFast", err)
			}
			res, err := Render(context.Background(), Options{Root: root})
			if err == nil && !res.Kustomized {
				t.Error("Render did not use kustomize")
			}
		})
	}
}

func TestScanPlain(t *testing.T) {
	tests := []struct {
		kustomization string
		plain         bool
	}{
		{"resources:\n- vs.yaml\n", true},
		{"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [vs.yaml]\n", true},
		{"resources:\n- vs.yaml\nnamespace: other\n", false},
		{"resources:\n- vs.yaml\ncommonLabels: {a: b}\n", false},
		{"resources:\n- vs.yaml\npatches: []\n", false},
		{"resources:\n- vs.yaml\nbuildMetadata: [originAnnotations]\n", false},
		{"kind: Component\nresources:\n- vs.yaml\n", false},
	}
	for _, tt := range tests {
		root, _ := writeRepo(t, map[string]string{"kustomization.yaml": tt.kustomization, "vs.yaml": testVS})
		r, dir, err := newRenderer(Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		top, err := fastpath.Scan(r.fs, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if top.Plain != tt.plain {
			t.Errorf("plain(%q) = %v, want %v", tt.kustomization, top.Plain, tt.plain)
		}
	}
}

// writeServices writes a repository of n ServiceIntents and one
// NamespaceIntent, listing the files in order (a permutation of 0..n-1).
func writeServices(t testing.TB, root string, order []int) {
	t.Helper()
	var k strings.Builder
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- namespace.yaml\n")
	files := map[string]string{"namespace.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata:\n  name: bench\nspec:\n  dataplane: sidecar\n  tracing:\n    provider: zipkin\n    samplingPercentage: 1\n"}
	for _, i := range order {
		name := fmt.Sprintf("svc-%05d.yaml", i)
		fmt.Fprintf(&k, "- %s\n", name)
		files[name] = serviceIntentYAML(i)
	}
	files["kustomization.yaml"] = k.String()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	// Write in a shuffled order too, so directory order differs from run to run.
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(root, n), []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRenderDeterministicWithShuffledInput(t *testing.T) {
	const n = 60
	var outputs [][]byte
	for run := 0; run < 3; run++ {
		order := rand.Perm(n)
		root := t.TempDir()
		writeServices(t, root, order)
		for _, kustomize := range []bool{false, true} {
			if kustomize {
				// A label transformer sends the same tree through kustomize.
				k, _ := os.ReadFile(filepath.Join(root, "kustomization.yaml"))
				k = append(k, "labels:\n- pairs: {team: bench}\n"...)
				if err := os.WriteFile(filepath.Join(root, "kustomization.yaml"), k, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Render(context.Background(), Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if res.Kustomized != kustomize {
				t.Fatalf("Kustomized = %v, want %v", res.Kustomized, kustomize)
			}
			b, err := res.Objects.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Intents) != n+1 || len(res.Objects) != 2*n+2 {
				t.Fatalf("%d intents, %d objects", len(res.Intents), len(res.Objects))
			}
			if !kustomize {
				outputs = append(outputs, b)
			}
		}
	}
	for i := 1; i < len(outputs); i++ {
		if !bytes.Equal(outputs[0], outputs[i]) {
			t.Fatalf("render %d differs from render 1", i+1)
		}
	}
}

package render

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
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
	fast, slow := buildBothWays(t, Options{Root: root, Path: "overlays/a"})
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
			r, _, top := scan(t, Options{Root: root})
			if _, err := r.fastBuilder().Build(t.Context(), top); !errors.Is(err, fastpath.ErrNotFast) {
				t.Errorf("fastBuild error = %v, want fastpath.ErrNotFast", err)
			}
			res, err := Render(t.Context(), Options{Root: root})
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
		_, _, top := scan(t, Options{Root: root})
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
		files[name] = gitfixture.BenchIntent("bench", i)
	}
	files["kustomization.yaml"] = k.String()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	// Write in a shuffled order too, so directory order differs from run to run.
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, n := range names {
		gitfixture.WriteFile(t, filepath.Join(root, n), []byte(files[n]))
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
				gitfixture.WriteFile(t, filepath.Join(root, "kustomization.yaml"), k)
			}
			res, err := Render(t.Context(), Options{Root: root})
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

func TestRenderOverlaysByFastPath(t *testing.T) {
	for shape, files := range overlayShapes {
		t.Run(shape, func(t *testing.T) {
			root := t.TempDir()
			writeOverlayRepo(t, root, 20, files)
			res, err := Render(t.Context(), Options{Root: root, Path: "overlays/prod"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Kustomized || res.Fallback != "" {
				t.Errorf("Kustomized = %v, Fallback = %q (%s), want the fast path's transforms", res.Kustomized, res.Fallback, res.FallbackDetail)
			}
			if len(res.Intents) != 21 {
				t.Fatalf("%d intents, want 21", len(res.Intents))
			}
			first := res.Intents[1].ServiceIntent // svc-00000, after the NamespaceIntent
			if first == nil || first.Name != "svc-00000" {
				t.Fatalf("second intent is %s, want svc-00000", res.Intents[1].ID())
			}
			if first.Labels["env"] != "prod" {
				t.Errorf("svc-00000 labels = %v, want env=prod", first.Labels)
			}
		})
	}
}

func TestRenderFallbackReason(t *testing.T) {
	tests := []struct {
		name, kustomization, reason string
		kustomizeRefuses            bool
	}{
		{"a generator", "resources: [vs.yaml]\nconfigMapGenerator:\n- name: c\n  literals: [a=b]\n", "kustomization field configMapGenerator", false},
		{"patchesStrategicMerge", "resources: [vs.yaml]\npatchesStrategicMerge:\n- |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: reviews, namespace: bookinfo}\n  spec: {hosts: [x]}\n", "kustomization field patchesStrategicMerge", false},
		{"labels with field specs", "resources: [vs.yaml]\nlabels:\n- pairs: {a: b}\n  fields: [{path: spec/x, create: true}]\n", "kustomization field labels", false},
		{"a label YAML 1.1 reads as a boolean", "resources: [vs.yaml]\ncommonLabels: {a: yes}\n", "kustomization field commonLabels", true},
		{"a JSON 6902 patch without a target", "resources: [vs.yaml]\npatches:\n- patch: '[{op: add, path: /spec/x, value: 1}]'\n", "patch", true},
		{"a strategic-merge patch of nothing", "resources: [vs.yaml]\npatches:\n- patch: |\n    apiVersion: networking.istio.io/v1\n    kind: VirtualService\n    metadata: {name: ratings, namespace: bookinfo}\n", "patch", true},
		{"transformers", "resources: [vs.yaml]\ntransformers: [t.yaml]\n", "kustomization field transformers", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := writeRepo(t, map[string]string{"kustomization.yaml": tt.kustomization, "vs.yaml": testVS,
				"t.yaml": "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {a: b}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"})
			// The build stage alone: kustomize refuses some of these, and
			// Render then returns its error, not the reason (only logged).
			r, dir, err := newRenderer(Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			top, err := fastpath.Scan(r.fs, dir, false)
			if err != nil {
				t.Fatal(err)
			}
			_, fallback, _, err := r.build(t.Context(), dir, top, Options{Root: root})
			if err != nil {
				var nf *fastpath.NotFastError
				if !tt.kustomizeRefuses || errors.As(err, &nf) {
					t.Fatalf("build: %v", err)
				}
				return
			}
			if tt.kustomizeRefuses {
				t.Error("kustomize built it")
			}
			res := &Result{Kustomized: true}
			if fallback != nil {
				res.Fallback, res.FallbackDetail = fallback.Reason, fallback.Detail
			}
			if res.Fallback != tt.reason || res.FallbackDetail == "" {
				t.Errorf("Fallback = %q (%q), want %q", res.Fallback, res.FallbackDetail, tt.reason)
			}
		})
	}
}

// TestPatchByTransformedNamespace builds a strategic-merge patch two levels
// above base that names its object by the namespace a kustomization in
// between moved it to, and by the namespace it was declared in: kustomize
// matches both, and the fast path must build both as kustomize does.
func TestPatchByTransformedNamespace(t *testing.T) {
	for _, ns := range []string{"bench", "bench-eu"} {
		t.Run("the patch names namespace "+ns, func(t *testing.T) {
			root := t.TempDir()
			writeOverlayRepo(t, root, 5, map[string]string{
				"region/eu/kustomization.yaml":     "resources:\n- ../../base\nnamespace: bench-eu\n",
				"overlays/prod/kustomization.yaml": "resources:\n- ../../region/eu\npatches:\n- path: timeout.yaml\n",
				"overlays/prod/timeout.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: svc-00001\n  namespace: " + ns +
					"\nspec:\n  timeout: 4s\n",
			})
			opts := Options{Root: root, Path: "overlays/prod"}
			res, err := Render(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Fallback != "" {
				t.Errorf("Fallback = %q (%s), want the fast path", res.Fallback, res.FallbackDetail)
			}
			var got string
			for _, doc := range res.Intents {
				if si := doc.ServiceIntent; si != nil && si.Name == "svc-00001" {
					got = fmt.Sprintf("%s/%s", si.Namespace, si.Spec.Timeout.Duration)
				}
			}
			if want := "bench-eu/4s"; got != want {
				t.Errorf("svc-00001 = %q, want %q", got, want)
			}

			// kustomize builds the same tree alike.
			r, dir, top := scan(t, opts)
			slow, err := r.kustomizeBuilder().Build(t.Context(), dir, top)
			if err != nil {
				t.Fatalf("kustomize: %v", err)
			}
			var timeout any
			for _, o := range slow {
				if fastpath.ObjectName(o.Obj) == "ServiceIntent/bench-eu/svc-00001" {
					timeout = o.Obj["spec"].(map[string]any)["timeout"]
				}
			}
			if timeout != "4s" {
				t.Errorf("kustomize: svc-00001's timeout = %v, want 4s", timeout)
			}
		})
	}
}

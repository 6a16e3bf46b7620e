package render

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	"github.com/meshintent/meshintent/pkg/source"
)

// writeRepo writes files (slash paths relative to the returned root) into a
// new temporary repository inside a parent directory, which tests may use
// for files "outside the repository".
func writeRepo(t *testing.T, files map[string]string) (root, outside string) {
	t.Helper()
	parent := t.TempDir()
	root = filepath.Join(parent, "repo")
	outside = filepath.Join(parent, "outside")
	for _, d := range []string{root, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gitfixture.WriteTree(t, root, files)
	return root, outside
}

const testVS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
spec:
  hosts: [reviews]
`

const testIntent = `apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: reviews
  namespace: bookinfo
spec:
  versions:
  - name: v1
  - name: v2
  split:
  - version: v1
    weight: 90
  - version: v2
    weight: 10
`

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// setup runs after the files are written, e.g. to make symlinks.
		setup func(t *testing.T, root, outside string)
		path  string
		// want is the whole message, or with contains, parts of it.
		want     string
		contains []string
	}{{
		name:  "a missing resource file",
		files: map[string]string{"base/kustomization.yaml": "resources:\n- missing.yaml\n"},
		path:  "base",
		want:  `base/kustomization.yaml: resources: "missing.yaml": no such file or directory`,
	}, {
		name:  "a missing kustomization",
		files: map[string]string{"base/vs.yaml": testVS},
		path:  "base",
		want:  `base: no kustomization.yaml, kustomization.yml or Kustomization`,
	}, {
		name: "bad YAML in a resource",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- bad.yaml\n",
			"base/bad.yaml":           "apiVersion: v1\nkind: [Service\n",
		},
		path:     "base",
		contains: []string{"base/bad.yaml: invalid YAML: yaml: line ", "did not find expected ',' or ']'"},
	}, {
		name:     "bad YAML in a kustomization",
		files:    map[string]string{"base/kustomization.yaml": "resources:\n- a.yaml\n  - b.yaml: [\n"},
		path:     "base",
		contains: []string{"base/kustomization.yaml: invalid YAML: "},
	}, {
		name:  "a path escaping the repository",
		files: map[string]string{"overlays/prod/kustomization.yaml": "resources:\n- ../../../outside\n"},
		path:  "overlays/prod",
		want:  `overlays/prod/kustomization.yaml: resources: "../../../outside" is outside the repository`,
	}, {
		name:  "a patch path escaping the repository",
		files: map[string]string{"base/kustomization.yaml": "resources: []\npatches:\n- path: ../../secret-patch.yaml\n"},
		path:  "base",
		want:  `base/kustomization.yaml: patches: "../../secret-patch.yaml" is outside the repository`,
	}, {
		name:  "an absolute path",
		files: map[string]string{"base/kustomization.yaml": "resources:\n- /etc/hosts\n"},
		path:  "base",
		want:  `base/kustomization.yaml: resources: absolute path "/etc/hosts" is not allowed; use a path relative to the kustomization`,
	}, {
		name:  "a symlinked file leading out",
		files: map[string]string{"base/kustomization.yaml": "resources:\n- vs.yaml\n"},
		setup: func(t *testing.T, root, outside string) {
			gitfixture.WriteFile(t, filepath.Join(outside, "vs.yaml"), []byte(testVS))
			gitfixture.Symlink(t, filepath.Join(root, "base", "vs.yaml"), filepath.Join(outside, "vs.yaml"))
		},
		path: "base",
		want: `base/kustomization.yaml: resources: "vs.yaml" leads outside the repository through a symlink`,
	}, {
		name:  "a symlinked base leading out",
		files: map[string]string{"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n"},
		setup: func(t *testing.T, root, outside string) {
			gitfixture.WriteFile(t, filepath.Join(outside, "kustomization.yaml"), []byte("resources: []\n"))
			gitfixture.Symlink(t, filepath.Join(root, "base"), outside)
		},
		path: "overlays/prod",
		want: `overlays/prod/kustomization.yaml: resources: "../../base" leads outside the repository through a symlink`,
	}, {
		name:  "a remote Git base",
		files: map[string]string{"base/kustomization.yaml": "resources:\n- github.com/istio/istio//samples/bookinfo?ref=1.24.0\n"},
		path:  "base",
		want:  `base/kustomization.yaml: resources: remote reference "github.com/istio/istio//samples/bookinfo?ref=1.24.0" is not allowed (remote bases are off: allow them only for trusted repositories, with --allow-remote-bases)`,
	}, {
		name:  "a remote HTTPS base in a nested kustomization",
		files: map[string]string{"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n", "base/kustomization.yaml": "resources:\n- https://example.com/vs.yaml\n"},
		path:  "overlays/prod",
		want:  `base/kustomization.yaml: resources: remote reference "https://example.com/vs.yaml" is not allowed (remote bases are off: allow them only for trusted repositories, with --allow-remote-bases)`,
	}, {
		name: "an exec KRM function as a transformer",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\ntransformers:\n- fn.yaml\n",
			"base/vs.yaml":            testVS,
			"base/fn.yaml": `apiVersion: example.com/v1
kind: Injector
metadata:
  name: inject
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./inject.sh
`,
		},
		path: "base",
		want: "kustomize build base: external plugins disabled; unable to load external plugin 'Injector' (meshintent runs kustomize without plugins, KRM functions or Helm)",
	}, {
		name: "an exec generator",
		files: map[string]string{
			"base/kustomization.yaml": "generators:\n- gen.yaml\n",
			"base/gen.yaml": `apiVersion: example.com/v1
kind: Generator
metadata:
  name: gen
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./gen.sh
`,
		},
		path:     "base",
		contains: []string{"kustomize build base: ", "external plugins disabled; unable to load external plugin 'Generator'", "(meshintent runs kustomize without plugins, KRM functions or Helm)"},
	}, {
		name:  "a Helm chart",
		files: map[string]string{"base/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.0.0\n"},
		path:  "base",
		want:  "base/kustomization.yaml:1: helmCharts: Helm is off: meshintent runs kustomize without Helm, plugins or KRM functions (render the chart and commit its output instead)",
	}, {
		name: "a kind that is not allowed",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- deploy.yaml\n- vs.yaml\n",
			"base/vs.yaml":            testVS,
			"base/deploy.yaml":        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reviews-v1\n  namespace: bookinfo\n",
		},
		path: "base",
		want: "base/deploy.yaml: Deployment/bookinfo/reviews-v1: kind Deployment (apps/v1) is not allowed: a mesh repository holds intents and Istio networking, security and telemetry resources only",
	}, {
		name: "a generated Secret, through kustomize",
		files: map[string]string{
			"base/kustomization.yaml": "namespace: bookinfo\nresources:\n- vs.yaml\nsecretGenerator:\n- name: creds\n  literals: [password=hunter2]\n",
			"base/vs.yaml":            testVS,
		},
		path:     "base",
		contains: []string{"base/kustomization.yaml: Secret/bookinfo/creds-", ": kind Secret (v1) is not allowed: a mesh repository holds intents and Istio networking, security and telemetry resources only"},
	}, {
		name: "an EnvoyFilter",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- ef.yaml\n",
			"base/ef.yaml":            "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata:\n  name: lua\n  namespace: bookinfo\n",
		},
		path: "base",
		want: "base/ef.yaml: EnvoyFilter/bookinfo/lua: kind EnvoyFilter (networking.istio.io/v1alpha3) is not allowed: a mesh repository holds intents and Istio networking, security and telemetry resources only",
	}, {
		name: "a duplicate object on the fast path",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
			"base/a.yaml":             testVS,
			"base/b.yaml":             testVS,
		},
		path: "base",
		want: "base/b.yaml: VirtualService/bookinfo/reviews is declared twice, also in base/a.yaml (kustomize: may not add resource with an already registered id)",
	}, {
		name: "a duplicate object through kustomize",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\ncommonLabels: {team: books}\n",
			"base/a.yaml":             testVS,
			"base/b.yaml":             testVS,
		},
		path:     "base",
		contains: []string{"kustomize build base: ", "may not add resource with an already registered id: VirtualService.v1.networking.istio.io/reviews.bookinfo"},
	}, {
		name: "a generated object colliding with a declared one",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- reviews.yaml\n- vs.yaml\n",
			"base/vs.yaml":            testVS,
			"base/reviews.yaml":       testIntent,
		},
		path: "base",
		want: "VirtualService/bookinfo/reviews is generated from ServiceIntent/bookinfo/reviews (base/reviews.yaml) and declared in base/vs.yaml",
	}, {
		name: "two intents for one service",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- reviews.yaml\n- reviews2.yaml\n",
			"base/reviews.yaml":       testIntent,
			"base/reviews2.yaml":      strings.Replace(strings.Replace(testIntent, "name: reviews", "name: reviews-2", 1), "spec:\n", "spec:\n  service: reviews\n", 1),
		},
		path: "base",
		want: "service bookinfo/reviews is described by both ServiceIntent/bookinfo/reviews (base/reviews.yaml) and ServiceIntent/bookinfo/reviews-2 (base/reviews2.yaml)",
	}, {
		name: "an object without a name or kind",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            testVS + "---\napiVersion: networking.istio.io/v1\nmetadata:\n  namespace: bookinfo\n",
		},
		path: "base",
		want: "base/vs.yaml:9: an object has no kind, metadata.name",
	}, {
		name: "an Istio object without namespace",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            strings.Replace(testVS, "  namespace: bookinfo\n", "", 1),
		},
		path: "base",
		want: "base/vs.yaml:1: VirtualService/reviews has no metadata.namespace",
	}, {
		name: "an Istio object without namespace, second in its file, at its document's line",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml": "# reviews first, then ratings\n" + testVS + "---\n# ratings\n" +
				strings.NewReplacer("  namespace: bookinfo\n", "", "reviews", "ratings").Replace(testVS),
		},
		path: "base",
		want: "base/vs.yaml:11: VirtualService/ratings has no metadata.namespace",
	}, {
		name: "an Istio object without namespace built by kustomize, at its document's line in the base",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
			"base/vs.yaml":                     "# reviews\n" + strings.Replace(testVS, "  namespace: bookinfo\n", "", 1),
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\ncommonLabels: {team: books}\n",
		},
		path: "overlays/prod",
		want: "base/vs.yaml:2: VirtualService/reviews has no metadata.namespace",
	}, {
		name: "an intent error in a base, with its line",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":       "# reviews\n" + strings.Replace(testIntent, "    weight: 10\n", "    weight: 10\n  timeout: soon\n", 1),
		},
		path: "base",
		want: `base/reviews.yaml:16: ServiceIntent/bookinfo/reviews: spec.timeout: invalid duration "soon": use a number and a unit such as "500ms", "2s" or "1m30s"`,
	}, {
		name: "an unknown field an overlay patch adds, at the patch's line",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":                testIntent,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
			"overlays/prod/patch.yaml":         "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: reviews\n  namespace: bookinfo\nspec:\n  splt: []\n",
		},
		path: "overlays/prod",
		want: `overlays/prod/patch.yaml:7:3: ServiceIntent/bookinfo/reviews: spec.splt: unknown field`,
	}, {
		name: "a bad weight an overlay patch writes where the base has a good one, at the patch's line",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":                testIntent,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
			"overlays/prod/patch.yaml": "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: reviews\n  namespace: bookinfo\nspec:\n" +
				"  split:\n  - version: v1\n    weight: 105\n  - version: v2\n    weight: -5\n",
		},
		path: "overlays/prod",
		want: "overlays/prod/patch.yaml:9: ServiceIntent/bookinfo/reviews: spec.split[0].weight: weight 105 must be between 0 and 100\n" +
			"overlays/prod/patch.yaml:11: ServiceIntent/bookinfo/reviews: spec.split[1].weight: weight -5 must be between 0 and 100",
	}, {
		name: "a bad weight from an inline JSON patch, at its line in the kustomization",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":       testIntent,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- target: {kind: ServiceIntent, name: reviews}\n  patch: |-\n" +
				"    - op: replace\n      path: /spec/split/1/weight\n      value: -5\n",
		},
		path:     "overlays/prod",
		contains: []string{"overlays/prod/kustomization.yaml:8: ServiceIntent/bookinfo/reviews: spec.split[1].weight: weight -5 must be between 0 and 100"},
	}, {
		name: "a value a transformer changed, in the declaring file after overlays",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":                testIntent,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: Prod_\n",
		},
		path:     "overlays/prod",
		contains: []string{"base/reviews.yaml (after overlays): ServiceIntent/bookinfo/Prod_reviews: metadata.name: invalid name"},
	}, {
		name: "an intent error in a base built through an overlay, at the base's line",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":                strings.Replace(testIntent, "weight: 10", "weight: -10", 1),
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
			"overlays/prod/patch.yaml":         "apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: reviews\n  namespace: bookinfo\nspec:\n  timeout: 2s\n",
		},
		path:     "overlays/prod",
		contains: []string{"base/reviews.yaml:14: ServiceIntent/bookinfo/reviews: spec.split[1].weight: weight -10 must be between 0 and 100"},
	}, {
		name: "bad YAML in a base built through an overlay, naming the base file",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- reviews.yaml\n",
			"base/reviews.yaml":                strings.Replace(testIntent, "  name: reviews\n", "\tname: reviews\n", 1),
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: p-\n",
		},
		path: "overlays/prod",
		want: "kustomize build overlays/prod: base/reviews.yaml: invalid YAML: yaml: line 4: found character that cannot start any token",
	}, {
		name: "a duplicate in a base built through an overlay, naming both files",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- a.yaml\n- b.yaml\n",
			"base/a.yaml":                      testVS,
			"base/b.yaml":                      testVS,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: p-\n",
		},
		path: "overlays/prod",
		want: "kustomize build overlays/prod: base/b.yaml: VirtualService/bookinfo/reviews is declared twice, also in base/a.yaml " +
			"(kustomize: may not add resource with an already registered id: VirtualService.v1.networking.istio.io/reviews.bookinfo)",
	}, {
		name: "a kustomize error in a base, without its chain of accumulations",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\nreplicas:\n- name: x\n  count: many\n",
			"base/vs.yaml":                     testVS,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n",
		},
		path:     "overlays/prod",
		contains: []string{"kustomize build overlays/prod: base: invalid Kustomization: json: cannot unmarshal string into Go struct field"},
	}, {
		name: "maps nested too deeply, on the fast path",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            testVS + "  deep: " + strings.Repeat("{a: ", 1000) + "1" + strings.Repeat("}", 1000) + "\n",
		},
		path: "base",
		want: "base/vs.yaml:8: spec.deep.a.a.a.a.a.a…: maps and lists nest more than 64 levels deep (depth limit; set with --max-yaml-depth)",
	}, {
		name: "lists nested too deeply in a base built through an overlay",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
			"base/vs.yaml":                     testVS + "  deep: " + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "\n",
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: p-\n",
		},
		path: "overlays/prod",
		want: "kustomize build overlays/prod: base/vs.yaml:8: spec.deep[0][0][0][0][0][0]…: maps and lists nest more than 64 levels deep (depth limit; set with --max-yaml-depth)",
	}, {
		name: "an alias nested too deeply, left to kustomize by the fast path",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            testVS + "  a: &a 1\n  b: *a\n  deep: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
		},
		path:     "base",
		contains: []string{"base/vs.yaml:10: spec.deep", "maps and lists nest more than 64 levels deep"},
	}, {
		name: "a patch nested too deeply",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
			"base/vs.yaml":                     testVS,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
			"overlays/prod/patch.yaml":         strings.Replace(testVS, "  hosts: [reviews]\n", "  deep: "+strings.Repeat("[", 100)+strings.Repeat("]", 100)+"\n", 1),
		},
		path:     "overlays/prod",
		contains: []string{"kustomize build overlays/prod: overlays/prod/patch.yaml:7: spec.deep", "maps and lists nest more than 64 levels deep"},
	}, {
		name: "a kustomization nested too deeply",
		files: map[string]string{
			"base/kustomization.yaml": "resources: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
		},
		path:     "base",
		contains: []string{"base/kustomization.yaml:1: resources", "maps and lists nest more than 64 levels deep"},
	}, {
		name: "a resource file larger than the limit",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            testVS + "  junk: \"" + strings.Repeat("x", MaxFileSize) + "\"\n",
		},
		path: "base",
		want: "base/vs.yaml:8: the file is 4.0 MiB, more than the 4 MiB a file may be (size limit; set with --max-file-size)",
	}, {
		name: "a number beyond 64 bits, on the fast path",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- vs.yaml\n",
			"base/vs.yaml":            testVS + "  http:\n  - route:\n    - destination: {host: reviews, port: {number: 12345678901234567890}}\n",
		},
		path: "base",
		want: `base/vs.yaml:10: spec.http[0].route[0].destination.port.number: number "12345678901234567890" is too large: a whole number must fit in 64 bits`,
	}, {
		name: "a float beyond 64 bits in a base built through an overlay",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
			"base/vs.yaml":                     testVS + "  n: 1e20\n",
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: p-\n",
		},
		path: "overlays/prod",
		want: `kustomize build overlays/prod: base/vs.yaml:8: spec.n: number "1e20" is too large: a whole number must fit in 64 bits`,
	}, {
		name: "a kind with a line break",
		files: map[string]string{
			"base/kustomization.yaml": "resources:\n- x.yaml\n",
			"base/x.yaml":             "apiVersion: apps/v1\nkind: \"Deployment\\nDENY fake\"\nmetadata: {name: x, namespace: bookinfo}\n",
		},
		path: "base",
		want: `base/x.yaml: "Deployment\nDENY fake/bookinfo/x": kind "Deployment\nDENY fake" (apps/v1) is not allowed: a mesh repository holds intents and Istio networking, security and telemetry resources only`,
	}, {
		name:  "a path outside the root",
		files: map[string]string{"base/kustomization.yaml": "resources: []\n"},
		path:  "../",
		want:  `render: path "../" is outside the repository`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, outside := writeRepo(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, root, outside)
			}
			_, err := Render(t.Context(), Options{Root: root, Path: tt.path})
			if err == nil {
				t.Fatal("Render returned no error")
			}
			got := err.Error()
			if tt.want != "" && got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got, c) {
					t.Errorf("error %q does not contain %q", got, c)
				}
			}
			if strings.Contains(got, root) {
				t.Errorf("error %q names the repository's absolute path", got)
			}
			for _, line := range strings.Split(got, "\n") {
				if len(line) > 600 {
					t.Errorf("error line is %d bytes long: %.200q…", len(line), line)
				}
			}
		})
	}
}

func TestRenderIntentErrorsAreAList(t *testing.T) {
	root, _ := writeRepo(t, map[string]string{
		"kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
		"a.yaml":             strings.Replace(testIntent, "weight: 10", "weight: 20", 1),
		"b.yaml":             strings.Replace(strings.Replace(testIntent, "reviews", "ratings", -1), "- name: v2\n", "- name: v2\n    labelz: {}\n", 1),
	})
	_, err := Render(t.Context(), Options{Root: root})
	var list intent.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not an intent.ErrorList", err)
	}
	want := "a.yaml:10: ServiceIntent/bookinfo/reviews: spec.split: weights sum to 110, want 100\n" +
		"b.yaml:10: ServiceIntent/bookinfo/ratings: spec.versions[1].labelz: unknown field"
	if got := list.Error(); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}
}

func TestRenderRemoteBaseAllowed(t *testing.T) {
	// With remote bases allowed, the scan lets the reference through and
	// kustomize is asked to fetch it; there is no network here, so only the
	// path is checked: the error must come from kustomize, not the scan.
	root, _ := writeRepo(t, map[string]string{"kustomization.yaml": "resources:\n- file:///nonexistent/repo\n"})
	_, err := Render(t.Context(), Options{Root: root, AllowRemoteBases: true})
	if err == nil {
		t.Fatal("Render returned no error")
	}
	if strings.Contains(err.Error(), "not allowed") || !strings.HasPrefix(err.Error(), "kustomize build .: ") {
		t.Errorf("error %q does not come from kustomize", err)
	}
}

func TestRenderSymlinkedKustomizationOut(t *testing.T) {
	root, outside := writeRepo(t, map[string]string{"base/vs.yaml": testVS})
	gitfixture.WriteFile(t, filepath.Join(outside, "kustomization.yaml"), []byte("resources: [vs.yaml]\n"))
	gitfixture.Symlink(t, filepath.Join(root, "base", "kustomization.yaml"), filepath.Join(outside, "kustomization.yaml"))
	_, err := Render(t.Context(), Options{Root: root, Path: "base"})
	if want := "base: open base/kustomization.yaml: a symlink leads outside the repository"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestRenderSymlinkLeavingAGitTree(t *testing.T) {
	// pkg/source turns a committed symlink leading out of the repository
	// into one that cannot be followed; render names it.
	root, _ := writeRepo(t, map[string]string{
		"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
		"overlays/prod/kustomization.yaml": "resources:\n- ../../base\n- gw.yaml\n",
	})
	for link, target := range map[string]string{"base/vs.yaml": "/etc/passwd", "overlays/prod/gw.yaml": "../../../x.yaml"} {
		gitfixture.Symlink(t, filepath.Join(root, filepath.FromSlash(link)), rootfs.EscapingLinkPrefix+url.PathEscape(target))
	}
	_, err := Render(t.Context(), Options{Root: root, Path: "overlays/prod"})
	want := `base/kustomization.yaml: resources: "vs.yaml" leads outside the repository through a symlink: base/vs.yaml is committed as a link to "/etc/passwd"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if rootfs.EscapingLinkPrefix != source.EscapingLinkPrefix {
		t.Errorf("rootfs.EscapingLinkPrefix = %q, pkg/source writes %q", rootfs.EscapingLinkPrefix, source.EscapingLinkPrefix)
	}
}

func TestRenderSymlinkInsideIsFine(t *testing.T) {
	// Kustomize's root-only loading wants the target in or below the
	// kustomization's directory too.
	root, _ := writeRepo(t, map[string]string{"base/kustomization.yaml": "resources: [vs.yaml]\n", "base/shared/vs.yaml": testVS})
	gitfixture.Symlink(t, filepath.Join(root, "base", "vs.yaml"), filepath.Join(root, "base", "shared", "vs.yaml"))
	res, err := Render(t.Context(), Options{Root: root, Path: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Objects[0].Source; got != "base/vs.yaml" {
		t.Errorf("source = %q, want base/vs.yaml, the path the kustomization names", got)
	}
	// Kustomize says the same.
	k, _ := os.ReadFile(filepath.Join(root, "base", "kustomization.yaml"))
	gitfixture.WriteFile(t, filepath.Join(root, "base", "kustomization.yaml"), append(k, "labels:\n- pairs: {a: b}\n"...))
	res, err = Render(t.Context(), Options{Root: root, Path: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Objects[0].Source; !res.Kustomized || got != "base/vs.yaml" {
		t.Errorf("kustomize: source = %q, want base/vs.yaml", got)
	}
}

func TestRenderSourcesThroughSymlinkedBase(t *testing.T) {
	root, _ := writeRepo(t, map[string]string{
		"overlays/prod/kustomization.yaml": "resources: [../../base]\n",
		"shared/kustomization.yaml":        "resources: [vs.yaml]\n",
		"shared/vs.yaml":                   testVS,
	})
	gitfixture.Symlink(t, filepath.Join(root, "base"), filepath.Join(root, "shared"))
	var sources []string
	for _, extra := range []string{"", "labels:\n- pairs: {a: b}\n"} {
		if extra != "" {
			gitfixture.WriteFile(t, filepath.Join(root, "overlays/prod/kustomization.yaml"), []byte("resources: [../../base]\n"+extra))
		}
		res, err := Render(t.Context(), Options{Root: root, Path: "overlays/prod"})
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, res.Objects[0].Source)
	}
	if sources[0] != "base/vs.yaml" || sources[1] != "base/vs.yaml" {
		t.Errorf("sources (fast path, kustomize) = %v, want base/vs.yaml for both", sources)
	}
}

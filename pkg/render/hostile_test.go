package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// bombLaughs is a billion laughs under key, levels deep, each level a flow
// list repeating the anchor of the level below width times: the issue's
// file is bombLaughs("bomb", 8, 9), which expands to 387 million nodes.
func bombLaughs(key string, levels, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  a0: &a0 [%s]\n", key, strings.TrimSuffix(strings.Repeat("lol,", width), ","))
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), width), ","))
	}
	return b.String()
}

// bombMaps is the same bomb of block mappings.
func bombMaps(key string, levels, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  l0: &l0 {x: lol}\n", key)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d\n", i, i)
		for j := 0; j < width; j++ {
			fmt.Fprintf(&b, "    k%d: *l%d\n", j, i-1)
		}
	}
	return b.String()
}

// bombMerge is the bomb of merge keys.
func bombMerge(key string, levels, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  m0: &m0 {x: lol, y: lol}\n", key)
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), width), ", ")
		fmt.Fprintf(&b, "  m%d: &m%d\n    <<: [%s]\n    k%d: *m%d\n", i, i, refs, i, i-1)
	}
	return b.String()
}

// hostileOverlay builds base through kustomize: labels are not a plain list.
const hostileOverlay = "resources:\n- ../../base\nlabels:\n- pairs: {team: mesh}\n"

// TestRenderRefusesHostileYAML renders hostile files as intents and as
// plain Istio resources, by the fast path (base) and through kustomize (an
// overlay with labels): each is refused within a second or two, with the
// file, the line and the limit's word, or (when under the limits) rendered.
func TestRenderRefusesHostileYAML(t *testing.T) {
	type hostile struct {
		name string
		// file is the content of base/bad.yaml, given the good document
		// to start from (an intent or a VirtualService).
		file func(doc string) string
		// extra are more files of the base, listed after bad.yaml.
		extra map[string]string
		// want is a fragment of the error after the file name
		// ("base/bad.yaml:<line>: "), "" when the render must succeed.
		want string
		// other is a fragment of an error that is not a limit's (invalid YAML).
		other string
	}
	manyBombs := map[string]string{}
	for i := range 3 {
		manyBombs[fmt.Sprintf("more%d.yaml", i)] = bombLaughs("x", 4, 9)
	}
	cases := []hostile{{
		name: "a billion laughs of lists, the issue's 643-byte file",
		file: func(doc string) string { return doc + bombLaughs("bomb", 8, 9) },
		want: "alias expansion exceeds the limit",
	}, {
		name: "a billion laughs of block mappings",
		file: func(doc string) string { return doc + bombMaps("bomb", 9, 9) },
		want: "alias expansion exceeds the limit",
	}, {
		name: "a billion laughs of merge keys",
		file: func(doc string) string { return doc + bombMerge("bomb", 12, 9) },
		want: "alias expansion exceeds the limit",
	}, {
		name: "an alias inside its own anchor",
		file: func(doc string) string { return doc + "loop: &l [1, *l]\n" },
		want: "alias cycle",
	}, {
		name: "a 2 MiB string repeated by aliases",
		file: func(doc string) string {
			return doc + "big: &b \"" + strings.Repeat("x", 2<<20) + "\"\nmore: [" + strings.TrimSuffix(strings.Repeat("*b,", 40), ",") + "]\n"
		},
		want: "alias expansion exceeds the size limit",
	}, {
		name: "100k nested flow lists",
		file: func(doc string) string { return doc + "deep: " + strings.Repeat("[", 100_000) + "\n" },
		want: "maps and lists nest more than 64 levels deep (depth limit",
	}, {
		name: "100k nested flow maps",
		file: func(doc string) string { return doc + "deep: " + strings.Repeat("{a: ", 100_000) + "\n" },
		want: "maps and lists nest more than 64 levels deep (depth limit",
	}, {
		name: "100 nested block maps",
		file: func(doc string) string {
			var b strings.Builder
			for i := range 100 {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return doc + b.String() + strings.Repeat(" ", 100) + "v\n"
		},
		want: "maps and lists nest more than 64 levels deep (depth limit",
	}, {
		name: "10,000 documents in one file",
		file: func(doc string) string { return doc + strings.Repeat("---\nkind: Junk\n", 9_999) },
		want: "more than 10000 YAML documents (size limit",
	}, {
		name: "a file over the size limit",
		file: func(doc string) string { return doc + "junk: \"" + strings.Repeat("x", 5<<20) + "\"\n" },
		want: "the file is 5.0 MiB, more than the 4 MiB a file may be (size limit",
	}, {
		name:  "many files each under the alias limit, which add up over it",
		file:  func(doc string) string { return doc + bombLaughs("x", 4, 9) },
		extra: manyBombs, // the render's budget runs out in one of them
		want:  "alias expansion exceeds the limit",
	}, {
		name: "many small documents each under the alias limit",
		file: func(doc string) string {
			return doc + strings.Repeat("---\n"+bombLaughs("x", 3, 9), 50)
		},
		want: "alias expansion exceeds the limit",
	}, {
		name: "9,000 empty documents are skipped",
		file: func(doc string) string { return doc + strings.Repeat("---\n", 9_000) },
	}, {
		name: "a 3 MiB string is a large but fine value",
		file: func(doc string) string {
			return strings.Replace(doc, "metadata:\n", "metadata:\n  annotations: {big: \""+strings.Repeat("x", 3<<20)+"\"}\n", 1)
		},
	}, {
		name:  "NUL bytes",
		file:  func(doc string) string { return doc + "nul: \"a\x00b\"\n" },
		other: "control characters are not allowed",
	}, {
		name:  "invalid UTF-8",
		file:  func(doc string) string { return "# caf\xe9\n" + doc },
		other: "invalid",
	}}

	docs := map[string]string{"an intent": testIntent, "a VirtualService": testVS}
	for _, c := range cases {
		for what, doc := range docs {
			for _, viaKustomize := range []bool{false, true} {
				path, how := "base", "by the fast path"
				if viaKustomize {
					path, how = "overlays/prod", "through kustomize"
				}
				t.Run(fmt.Sprintf("%s in %s, %s", c.name, what, how), func(t *testing.T) {
					files := map[string]string{"base/bad.yaml": c.file(doc), "overlays/prod/kustomization.yaml": hostileOverlay}
					list := "resources:\n- bad.yaml\n"
					for name, content := range c.extra {
						files["base/"+name] = content
						list += "- " + name + "\n"
					}
					files["base/kustomization.yaml"] = list
					root, _ := writeRepo(t, files)

					start := time.Now()
					res, err := Render(t.Context(), Options{Root: root, Path: path})
					elapsed := time.Since(start)
					if elapsed > 3*time.Second {
						t.Errorf("Render took %s, want about a second at most", elapsed.Round(time.Millisecond))
					}
					switch {
					case c.want == "" && c.other == "":
						if err != nil {
							t.Fatalf("Render: %v", err)
						}
						if len(res.Objects) == 0 {
							t.Fatal("Render gave no objects")
						}
						return
					case err == nil:
						t.Fatal("Render succeeded, want an error")
					case c.other != "":
						var ge *yamlguard.Error
						if errors.As(err, &ge) || !strings.Contains(err.Error(), c.other) {
							t.Fatalf("error = %v, want %q and no limit", err, c.other)
						}
						return
					}
					msg := err.Error()
					var ge *yamlguard.Error
					if !errors.As(err, &ge) {
						t.Fatalf("error = %v, want a limit (*yamlguard.Error)", err)
					}
					prefix := "base/bad.yaml:"
					if c.extra != nil {
						prefix = "base/"
					}
					if viaKustomize {
						prefix = "kustomize build overlays/prod: " + prefix
					}
					if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, c.want) || !strings.Contains(msg, ge.Limit) {
						t.Errorf("error = %q, want %q…%q", msg, prefix, c.want)
					}
					if strings.Count(msg, "\n") > 0 {
						t.Errorf("error = %q, want one line", msg)
					}
					if ge.Line < 1 {
						t.Errorf("error = %q, want a line", msg)
					}
				})
			}
		}
	}
}

// TestRenderLimitsAreOptions: the limits are the caller's, lower and higher
// than the defaults, and a negative one is refused.
func TestRenderLimitsAreOptions(t *testing.T) {
	deep := testVS + "  deep: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	tests := []struct {
		name   string
		file   string
		limits Limits
		want   string // "" for success
	}{
		{"70 levels pass a depth limit of 80", deep, Limits{MaxDepth: 80}, ""},
		{"70 levels fail the default", deep, Limits{}, "base/vs.yaml:8: spec.deep[0][0][0][0][0][0]…: maps and lists nest more than 64 levels deep"},
		{"a small file fails a 100-byte limit", testVS, Limits{MaxFileSize: 100}, "base/vs.yaml:5: the file is 129 bytes, more than the 100 bytes a file may be (size limit"},
		{"the render's documents count the kustomization", testVS, Limits{MaxDocuments: 1}, "base/vs.yaml:1: the render holds more than 1 YAML documents (size limit"},
		{"the render's nodes count every file", testVS, Limits{MaxNodes: 10}, "base/vs.yaml:4: the render holds more than 10 YAML nodes (size limit"},
		{"a few aliases pass", testVS + "x: &x [1]\ny: *x\n", Limits{MaxAliasNodes: 2}, ""},
		{"a few aliases fail a lower limit", testVS + "x: &x [1, 2]\ny: *x\n", Limits{MaxAliasNodes: 2}, "base/vs.yaml:9: alias expansion exceeds the limit: *x expands to 3 nodes (3 nodes > 2"},
		{"a negative limit is an error", testVS, Limits{MaxDepth: -1}, "render: yaml limits: MaxDepth is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := writeRepo(t, map[string]string{"base/kustomization.yaml": "resources:\n- vs.yaml\n", "base/vs.yaml": tt.file})
			_, err := Render(t.Context(), Options{Root: root, Path: "base", Limits: tt.limits})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Render: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("error = %v, want %q…", err, tt.want)
			}
		})
	}
}

// TestKustomizeReadsThroughTheGuard: every file kustomize reads goes through
// the guard, which keeps the first breach for the build's error, and a file
// that passed is charged to the render once however often it is read.
func TestKustomizeReadsThroughTheGuard(t *testing.T) {
	root, _ := writeRepo(t, map[string]string{
		"bomb.yaml": bombLaughs("bomb", 8, 9),
		"fine.yaml": testVS + "x: &x [1, 2]\ny: *x\n",
	})
	c := rootfs.NewConfined(root, false, yamlguard.NewBudget(Limits{MaxAliasNodes: 5}))
	for range 3 {
		if _, err := c.ReadFile(filepath.Join(root, "fine.yaml")); err != nil {
			t.Fatalf("reading fine.yaml: %v", err)
		}
	}
	if _, err := c.ReadFile(filepath.Join(root, "bomb.yaml")); err == nil || !strings.HasPrefix(err.Error(), "bomb.yaml:3: alias expansion exceeds the limit") {
		t.Fatalf("reading bomb.yaml: %v, want the alias limit", err)
	}
	if err := c.FirstBreach(); err == nil || !strings.HasPrefix(err.Error(), "bomb.yaml:") {
		t.Errorf("firstBreach = %v, want bomb.yaml's", err)
	}
}

// TestRenderBombInKustomizationFiles: a bomb in a kustomization or in an
// overlay's patch is refused like one in a resource.
func TestRenderBombInKustomizationFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  string
	}{{
		name: "in a base's kustomization",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n" + bombLaughs("bomb", 8, 9),
			"base/vs.yaml":                     testVS,
			"overlays/prod/kustomization.yaml": hostileOverlay,
		},
		path: "overlays/prod",
		want: "base/kustomization.yaml:",
	}, {
		name: "in an overlay's patch",
		files: map[string]string{
			"base/kustomization.yaml":          "resources:\n- vs.yaml\n",
			"base/vs.yaml":                     testVS,
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: patch.yaml\n",
			"overlays/prod/patch.yaml":         testVS + bombMerge("bomb", 12, 9),
		},
		path: "overlays/prod",
		want: "kustomize build overlays/prod: overlays/prod/patch.yaml:",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := writeRepo(t, tt.files)
			start := time.Now()
			_, err := Render(t.Context(), Options{Root: root, Path: tt.path})
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Render took %s", d)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "alias expansion exceeds the limit") {
				t.Fatalf("error = %v, want %s… alias expansion exceeds the limit", err, tt.want)
			}
		})
	}
}

// writeFile is os.WriteFile failing the test.
func writeFile(t *testing.T, p, content string) {
	t.Helper()
	gitfixture.WriteFile(t, p, []byte(content))
}

package render

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// The kustomizations FuzzRender builds its file with: one the fast path
// takes, and one that sends the same resource list through kustomize
// (generator options change nothing without generators, but the fast path
// leaves them to kustomize).
const (
	fuzzPlainKustomization     = "resources:\n- intent.yaml\n"
	fuzzKustomizeKustomization = "resources:\n- intent.yaml\ngeneratorOptions: {disableNameSuffixHash: true}\n"
)

// fuzzRenderTimeout bounds one render of a fuzzed file.
const fuzzRenderTimeout = 20 * time.Second

// FuzzRender writes its input as the only resource file of a repository and
// renders it, by the fast path or through kustomize. Render must not panic
// nor hang; an error must say something; a success must render the same
// bytes twice, give every object apiVersion, kind, name, a source and the
// managed-by label, and, when the fast path and kustomize both succeed,
// agree with kustomize.
func FuzzRender(f *testing.F) {
	for _, name := range []string{
		"base/namespace.yaml", "base/productpage.yaml", "base/details.yaml", "base/reviews.yaml", "base/ratings.yaml",
		"base/peer-authentication.yaml", "overlays/prod/reviews.yaml", "overlays/staging/ratings-fault.yaml",
	} {
		b, err := os.ReadFile(filepath.Join(exampleRepo, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	// The whole base in one file, and some of the bad inputs of test/badinput.
	var all []byte
	for _, name := range []string{"namespace.yaml", "productpage.yaml", "details.yaml", "reviews.yaml", "ratings.yaml", "peer-authentication.yaml"} {
		b, err := os.ReadFile(filepath.Join(exampleRepo, "base", name))
		if err != nil {
			f.Fatal(err)
		}
		all = append(append(all, b...), "---\n"...)
	}
	f.Add(all, false)
	f.Add(all, true)
	for _, s := range []string{
		testIntent + "---\n" + testVS,
		testIntent + "---\n" + testIntent,
		strings.Replace(testIntent, "    weight: 10\n", "    weight: 10\n  timeout: soon\n", 1),
		strings.Replace(testIntent, "  name: reviews\n", "\tname: reviews\n", 1),
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: bookinfo}\n",
		"apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: lua, namespace: bookinfo}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: ['*']}\n",
		"a: &x [1, 2]\nb: *x\nc: {<<: {d: 1}}\nt: 2001-12-14t21:59:43.10-05:00\nn: .nan\n",
		"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata: {name: x, namespace: y}\nspec: {versions: [{name: v1}], split: [{version: v1, weight: 1.0e2}]}\n",
		"apiVersion: meshintent.io/v1alpha1\nkind: ServiceIntent\nmetadata:\n  name: x\n  namespace: y\n  annotations: {config.kubernetes.io/local-config: 'true'}\nspec: {}\n",
		"\xef\xbb\xbfapiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\nmetadata: {name: caf\xe9}\nspec: {dataplane: none}\n",
		"metadata: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, namespace: y}\n" +
			"spec: {a: yes, b: on, d: 0x1F, e: 1_000, f: +1, g: .5, h: 1e3, i: ~, j: 0o17, m: !!str 5, o: 1.0, p: -0, s: TRUE, u: 0b101, v: 1:20}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, namespace: y}\nspec: {n: 12345678901234567890}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, namespace: y}\n" +
			"spec: {a: 010, b: -010, c: +010, d: 0_10, e: 08, f: 0009, g: 1e17, h: 1e20, i: 1.152921504606846976e18, j: 07.5e1, k: 0xFF_FF, l: 190:20:30.15}\n",
		"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, namespace: y}\nspec: {deep: " +
			strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}

	f.Fuzz(func(t *testing.T, data []byte, viaKustomize bool) {
		root := t.TempDir()
		gitfixture.WriteFile(t, filepath.Join(root, "intent.yaml"), data)
		kustomization := fuzzPlainKustomization
		if viaKustomize {
			kustomization = fuzzKustomizeKustomization
		}
		gitfixture.WriteFile(t, filepath.Join(root, "kustomization.yaml"), []byte(kustomization))

		res, first, err := fuzzRender(t, root)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("Render failed with an empty message (%T)", err)
			}
			return
		}
		if viaKustomize && (!res.Kustomized || res.Fallback == "") {
			t.Fatal("a kustomization with patches was not built by kustomize")
		}
		for _, o := range res.Objects {
			switch {
			case o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "":
				t.Fatalf("object without apiVersion, kind or name: %v", o.Object)
			case o.GetLabels()[manifest.ManagedByLabel] != manifest.ManagedByValue:
				t.Fatalf("%s has labels %v, want %s=%s", o.ID(), o.GetLabels(), manifest.ManagedByLabel, manifest.ManagedByValue)
			case o.Source == "":
				t.Fatalf("%s has no source", o.ID())
			}
		}
		_, again, err := fuzzRender(t, root)
		if err != nil {
			t.Fatalf("the second render failed: %v", err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two renders differ:\n--- first\n%s\n--- second\n%s", first, again)
		}

		// The fast path stands in for kustomize: when both build the file,
		// they must give the same objects.
		if !viaKustomize {
			return
		}
		gitfixture.WriteFile(t, filepath.Join(root, "kustomization.yaml"), []byte(fuzzPlainKustomization))
		fast, fastYAML, err := fuzzRender(t, root)
		if err != nil || fast.Kustomized {
			return // refused, or left to kustomize anyway
		}
		if !bytes.Equal(first, fastYAML) {
			t.Fatalf("the fast path differs from kustomize:\n--- kustomize\n%s\n--- fast path\n%s", first, fastYAML)
		}
	})
}

// TestBugFastPathReadsLeadingZeroAsDecimal: the fast path reads an integer
// with a leading zero as kustomize (yaml.v3) does, as octal; see also
// FuzzRender's seed testdata/fuzz/FuzzRender/leading-zero-integer.
func TestBugFastPathReadsLeadingZeroAsDecimal(t *testing.T) {
	intent := strings.NewReplacer("weight: 90", "weight: 070", "weight: 10", "weight: 030").Replace(testIntent)
	var outputs []string
	for _, k := range []string{fuzzPlainKustomization, fuzzKustomizeKustomization} {
		root, _ := writeRepo(t, map[string]string{"intent.yaml": intent, "kustomization.yaml": k})
		_, err := Render(t.Context(), Options{Root: root, Path: "."})
		if err == nil {
			outputs = append(outputs, "valid")
		} else {
			outputs = append(outputs, err.Error())
		}
	}
	// 070 + 030 is 56 + 24 = 80 in octal, as kustomize reads it.
	if outputs[0] != outputs[1] {
		t.Errorf("the fast path and kustomize disagree on weights 070 and 030:\nfast path: %s\nkustomize: %s", outputs[0], outputs[1])
	}
	if !strings.Contains(outputs[0], "weights sum to 80") {
		t.Errorf("error = %s, want the weights read as octal (sum 80)", outputs[0])
	}
}

// fuzzRender renders root with a deadline, failing the test when Render
// does not return in time (kustomize does not watch the context).
func fuzzRender(t *testing.T, root string) (*Result, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzRenderTimeout)
	defer cancel()
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Render(ctx, Options{Root: root, Path: "."})
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(fuzzRenderTimeout + 5*time.Second):
		t.Fatalf("Render did not return within %s", fuzzRenderTimeout)
	}
	if errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("Render ran out of time: %v", o.err)
	}
	if o.err != nil {
		return nil, nil, o.err
	}
	b, err := o.res.Objects.YAML()
	if err != nil {
		t.Fatalf("rendered objects do not encode: %v", err)
	}
	return o.res, b, nil
}

// fuzzScanLimits are small, so that the fuzzer reaches them.
var fuzzScanLimits = Limits{MaxFileSize: 64 << 10, MaxTotalSize: 256 << 10, MaxDepth: 16, MaxNodes: 4000, MaxAliasNodes: 1000, MaxDocuments: 20}

// FuzzScan runs the scan of the kustomization tree and the fast path on a
// repository of two fuzzed files: kustomization.yaml and res.yaml (which a
// fuzzed kustomization may or may not list), under small limits. Neither
// may panic or hang; every error is one line naming a repo-relative file
// (never the absolute root); a breach of the limits names its file, line
// and limit; and what the fast path builds comes from res.yaml.
func FuzzScan(f *testing.F) {
	for _, s := range [][2]string{
		{fuzzPlainKustomization, testIntent},
		{"resources:\n- res.yaml\n", testVS + "---\n" + testIntent},
		{"resources:\n- res.yaml\n- res.yaml\n", testVS},
		{"resources:\n- res.yaml\n", testVS + bombLaughs("bomb", 8, 9)},
		{"resources:\n- res.yaml\n" + bombLaughs("bomb", 8, 9), testVS},
		{"resources:\n- res.yaml\n", testVS + bombMerge("bomb", 12, 9)},
		{"resources: [res.yaml, ../x, /etc/passwd, https://example.com/x.yaml, github.com/a/b, .]\n", testVS},
		{"resources:\n- res.yaml\npatches: [{path: res.yaml}]\nhelmCharts: [{name: x}]\n", testVS},
		{"resources:\n- res.yaml\n", testVS + "deep: " + strings.Repeat("[", 1000) + "\n"},
		{"resources:\n- res.yaml\n", strings.Repeat("---\n"+testVS, 30)},
		{"resources: " + strings.Repeat("[", 100) + "\n", testVS},
		{"resources:\n- res.yaml\n", "a: b\x00c\n"},
		{"resources:\n- res.yaml\n", "# caf\xe9\n" + testVS},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, kustomization, resource []byte) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "kustomization.yaml"), string(kustomization))
		writeFile(t, filepath.Join(root, "res.yaml"), string(resource))

		check := func(stage string, err error) {
			t.Helper()
			msg := err.Error()
			switch {
			case strings.TrimSpace(msg) == "":
				t.Fatalf("%s: an empty error (%T)", stage, err)
			case strings.Contains(msg, root):
				t.Fatalf("%s: the error names the absolute root: %s", stage, msg)
			case strings.Contains(msg, "\n"):
				t.Fatalf("%s: the error is not one line: %q", stage, msg)
			}
			var ge *yamlguard.Error
			if errors.As(err, &ge) && (ge.Line < 1 || !strings.Contains(msg, ge.Limit) ||
				(!strings.Contains(msg, "kustomization.yaml:") && !strings.Contains(msg, "res.yaml:"))) {
				t.Fatalf("%s: a breach without its file, line or limit: %s", stage, msg)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			r, dir, err := newRenderer(Options{Root: root, Path: ".", Workers: 1, Limits: fuzzScanLimits})
			if err != nil {
				t.Errorf("newRenderer: %v", err)
				return
			}
			top, err := fastpath.Scan(r.fs, dir, false)
			if err != nil {
				check("scan", err)
				return
			}
			if !top.Plain {
				return
			}
			objs, err := r.fastBuilder().Build(t.Context(), top)
			if errors.Is(err, fastpath.ErrNotFast) {
				return
			}
			if err != nil {
				// A duplicate names two files and may span them: one line still.
				check("fast path", err)
				return
			}
			for _, o := range objs {
				if o.Source != "res.yaml" || o.Obj == nil {
					t.Errorf("the fast path built %v from %q, want objects of res.yaml", o.Obj, o.Source)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzRenderTimeout):
			t.Fatalf("the scan and the fast path did not return within %s", fuzzRenderTimeout)
		}
	})
}

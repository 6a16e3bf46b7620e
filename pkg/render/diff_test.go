package render

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
)

// The differential test: random kustomization trees (a base and one to
// three overlays, random transformers and patches, intents, Istio objects
// and plain Kubernetes objects) built by the fast path and by kustomize
// must give the same objects from the same files. A tree the fast path
// leaves to kustomize (fastpath.ErrNotFast) is counted, not compared.

// diffCases is how many trees TestFastPathMatchesKustomize builds:
// MESHINTENT_DIFF_CASES, else 40.
func diffCases(t *testing.T) int {
	if s := os.Getenv("MESHINTENT_DIFF_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MESHINTENT_DIFF_CASES=%q: want a positive number", s)
		}
		return n
	}
	return 40
}

func TestFastPathMatchesKustomize(t *testing.T) {
	n := diffCases(t)
	var fast, fallbacks int
	reasons := map[string]int{}
	for seed := int64(1); seed <= int64(n); seed++ {
		outcome, reason := diffOne(t, seed)
		switch outcome {
		case "fast":
			fast++
		case "fallback":
			fallbacks++
			reasons[reason]++
		}
	}
	t.Logf("%d trees: %d by the fast path, matching kustomize; %d left to kustomize %v", n, fast, fallbacks, reasons)
	if n >= 20 && fast < n/4 {
		t.Errorf("only %d of %d trees went by the fast path: the generator no longer tests it", fast, n)
	}
}

// FuzzFastPathMatchesKustomize builds the random tree of each seed both
// ways (see TestFastPathMatchesKustomize).
func FuzzFastPathMatchesKustomize(f *testing.F) {
	for seed := int64(1); seed <= 8; seed++ {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed int64) {
		diffOne(t, seed)
	})
}

// diffOne writes the tree of seed, builds it both ways and fails t on a
// difference. It returns "fast", "fallback" (with the reason) or "error"
// (both builds refused the tree).
func diffOne(t *testing.T, seed int64) (outcome, reason string) {
	t.Helper()
	files, path := randomTree(rand.New(rand.NewSource(seed)))
	root := t.TempDir()
	gitfixture.WriteTree(t, root, files)
	dump := func() string {
		var b strings.Builder
		for name, content := range files {
			fmt.Fprintf(&b, "--- %s\n%s", name, content)
		}
		return b.String()
	}

	ctx := t.Context()
	r, dir, err := newRenderer(Options{Root: root, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	top, err := fastpath.Scan(r.fs, dir, false)
	if err != nil {
		t.Fatalf("seed %d: scan: %v\n%s", seed, err, dump())
	}
	var fast []fastpath.Object
	var fastErr error
	switch {
	case top.Plain:
		fast, fastErr = r.fastBuilder().Build(ctx, top)
	case top.Fast:
		perFile, complete, err := r.kustomizeBuilder().Check(ctx, dir, top)
		switch {
		case err != nil:
			fastErr = err
		case !complete:
			fastErr = fastpath.ErrNotFast
		default:
			fast, fastErr = fastpath.Transform(ctx, r.fs, top, perFile)
		}
	default:
		fastErr = &fastpath.NotFastError{Reason: top.Reason, Detail: top.Detail}
	}
	if errors.Is(fastErr, fastpath.ErrNotFast) {
		var nf *fastpath.NotFastError
		if errors.As(fastErr, &nf) {
			return "fallback", nf.Reason
		}
		return "fallback", "?"
	}

	slow, slowErr := r.kustomizeBuilder().Build(ctx, dir, top)
	switch {
	case fastErr != nil && slowErr != nil:
		return "error", ""
	case fastErr != nil:
		t.Fatalf("seed %d: the fast path failed where kustomize did not: %v\n%s", seed, fastErr, dump())
	case slowErr != nil:
		t.Fatalf("seed %d: the fast path built what kustomize refuses (%v)\n%s", seed, slowErr, dump())
	}
	if len(fast) != len(slow) {
		t.Errorf("seed %d: the fast path built %d objects, kustomize %d", seed, len(fast), len(slow))
	}
	// A JSON 6902 patch that replaces metadata.annotations drops the origin
	// annotation kustomize's build names files by: it then names the
	// kustomization. The fast path names the declaring file, as it does
	// for every other object.
	for i := range slow {
		if strings.HasSuffix(slow[i].Source, "kustomization.yaml") {
			for _, f := range fast {
				if fastpath.ObjectName(f.Obj) == fastpath.ObjectName(slow[i].Obj) {
					slow[i].Source = f.Source
				}
			}
		}
	}
	if diff := cmp.Diff(index(slow), index(fast)); diff != "" {
		t.Fatalf("seed %d: the fast path differs from kustomize (-kustomize +fast):\n%s\n%s", seed, diff, dump())
	}
	return "fast", ""
}

// randomTree is a repository: base/ and one to three levels of overlays,
// each with a random set of transformers. It returns the files and the
// path to build.
func randomTree(rng *rand.Rand) (map[string]string, string) {
	files := map[string]string{}
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	names := []string{"reviews", "ratings", "details", "productpage"}
	var decls []diffDecl

	// The base: a file per object, some files with two.
	var base []string
	nObjs := 2 + rng.Intn(5)
	used := map[string]bool{}
	for i := 0; i < nObjs; i++ {
		kinds := []string{"ServiceIntent", "ServiceIntent", "VirtualService", "DestinationRule", "AuthorizationPolicy", "NamespaceIntent"}
		if rng.Intn(6) == 0 {
			kinds = append(kinds, "ConfigMap", "Service", "Deployment")
		}
		kind := pick(kinds...)
		name := pick(names...)
		if kind == "NamespaceIntent" {
			name = "bookinfo"
		}
		if used[kind+"/"+name] {
			continue
		}
		used[kind+"/"+name] = true
		decls = append(decls, diffDecl{kind, name})
		file := fmt.Sprintf("%s-%s.yaml", strings.ToLower(kind), name)
		files["base/"+file] = object(rng, kind, name)
		base = append(base, file)
	}
	files["base/kustomization.yaml"] = "resources:\n- " + strings.Join(base, "\n- ") + "\n" + transformers(rng, files, "base", decls)

	prev := "base"
	depth := 1 + rng.Intn(3)
	for level := 1; level <= depth; level++ {
		dir := fmt.Sprintf("overlays/l%d", level)
		var k string
		if prev == "base" {
			k = "resources:\n- ../../base\n"
		} else {
			k = "resources:\n- ../" + strings.TrimPrefix(prev, "overlays/") + "\n"
		}
		if rng.Intn(4) == 0 {
			name := pick("extra", "gateway-vs")
			files[dir+"/"+name+".yaml"] = object(rng, "VirtualService", name)
			k += "- " + name + ".yaml\n"
			decls = append(decls, diffDecl{"VirtualService", name})
		}
		files[dir+"/kustomization.yaml"] = k + transformers(rng, files, dir, decls)
		prev = dir
	}
	return files, prev
}

// diffDecl is an object a tree declares.
type diffDecl struct{ kind, name string }

// object is a document of kind, named name, in namespace bookinfo.
func object(rng *rand.Rand, kind, name string) string {
	meta := fmt.Sprintf("metadata:\n  name: %s\n  namespace: bookinfo\n", name)
	if rng.Intn(2) == 0 {
		meta += "  labels:\n    app: " + name + "\n"
	}
	if rng.Intn(3) == 0 {
		meta += "  annotations:\n    owner: team-a\n"
	}
	switch kind {
	case "ServiceIntent":
		return strings.Replace(testIntent, "metadata:\n  name: reviews\n  namespace: bookinfo\n", meta, 1) + "  timeout: 2s\n  retries:\n    attempts: 3\n"
	case "NamespaceIntent":
		return "apiVersion: meshintent.io/v1alpha1\nkind: NamespaceIntent\n" + strings.Replace(meta, "  namespace: bookinfo\n", "", 1) + "spec:\n  dataplane: sidecar\n"
	case "VirtualService":
		return "apiVersion: networking.istio.io/v1\nkind: VirtualService\n" + meta + "spec:\n  hosts: [" + name + "]\n  http:\n  - route:\n    - destination: {host: " + name + "}\n      weight: 100\n    timeout: 1.5s\n"
	case "DestinationRule":
		return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n" + meta + "spec:\n  host: " + name + "\n  subsets:\n  - name: v1\n    labels: {version: v1}\n"
	case "AuthorizationPolicy":
		return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n" + meta + "spec:\n  action: ALLOW\n  rules:\n  - from:\n    - source: {principals: [\"cluster.local/ns/bookinfo/sa/" + name + "\"]}\n"
	case "ConfigMap":
		return "apiVersion: v1\nkind: ConfigMap\n" + meta + "data:\n  key: value\n"
	case "Service":
		return "apiVersion: v1\nkind: Service\n" + meta + "spec:\n  selector: {app: " + name + "}\n  ports:\n  - port: 9080\n"
	default:
		return "apiVersion: apps/v1\nkind: Deployment\n" + meta + "spec:\n  selector:\n    matchLabels: {app: " + name + "}\n  template:\n    metadata:\n      labels: {app: " + name + "}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n"
	}
}

// transformers is a random set of transformer fields for the kustomization
// in dir, whose tree declares decls; patch files go into files.
func transformers(rng *rand.Rand, files map[string]string, dir string, decls []diffDecl) string {
	var b strings.Builder
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	if rng.Intn(4) == 0 {
		fmt.Fprintf(&b, "namespace: %s\n", pick("prod", "bookinfo", "staging"))
	}
	if rng.Intn(5) == 0 {
		fmt.Fprintf(&b, "namePrefix: %s\n", pick("prod-", "eu-"))
	}
	if rng.Intn(6) == 0 {
		fmt.Fprintf(&b, "nameSuffix: %s\n", pick("-v2", "-canary"))
	}
	if rng.Intn(3) == 0 {
		fmt.Fprintf(&b, "commonLabels:\n  %s: %s\n", pick("env", "app", "team"), pick("prod", "mesh", "\"true\""))
	}
	if rng.Intn(2) == 0 {
		b.WriteString("labels:\n")
		for i := 0; i <= rng.Intn(2); i++ {
			fmt.Fprintf(&b, "- pairs: {%s: %s}\n", pick("env", "tier", "app"), pick("prod", "backend", "'1'"))
			if rng.Intn(2) == 0 {
				fmt.Fprintf(&b, "  includeSelectors: %v\n", rng.Intn(2) == 0)
			}
			if rng.Intn(3) == 0 {
				fmt.Fprintf(&b, "  includeTemplates: %v\n", rng.Intn(2) == 0)
			}
		}
	}
	if rng.Intn(3) == 0 {
		fmt.Fprintf(&b, "commonAnnotations:\n  %s: %s\n", pick("region", "owner"), pick("eu", "team-b", "\"42\""))
	}
	if len(decls) > 0 && rng.Intn(3) > 0 {
		b.WriteString("patches:\n")
		for i := 0; i <= rng.Intn(3); i++ {
			d := decls[rng.Intn(len(decls))]
			b.WriteString(randomPatch(rng, files, dir, i, d.kind, d.name))
		}
	}
	if rng.Intn(20) == 0 {
		b.WriteString("configMapGenerator:\n- name: generated\n  literals: [a=b]\n")
	}
	return b.String()
}

// randomPatch is one patches entry for an object of kind and name.
func randomPatch(rng *rand.Rand, files map[string]string, dir string, i int, kind, name string) string {
	target := func() string {
		switch rng.Intn(5) {
		case 0:
			return fmt.Sprintf("  target: {kind: %s}\n", kind)
		case 1:
			return fmt.Sprintf("  target: {kind: %s, name: %s}\n", kind, name)
		case 2:
			return fmt.Sprintf("  target: {name: \"%s.*\"}\n", name[:3])
		case 3:
			return "  target: {labelSelector: \"app=" + name + "\"}\n"
		default:
			return fmt.Sprintf("  target: {kind: %s, namespace: bookinfo}\n", kind)
		}
	}
	var field, value string
	switch kind {
	case "ServiceIntent":
		field, value = "/spec/timeout", "5s"
	case "VirtualService":
		field, value = "/spec/http/0/timeout", "3s"
	case "NamespaceIntent":
		field, value = "/spec/dataplane", "ambient"
	default:
		field, value = "/metadata/labels/patched", "\"yes\""
	}
	switch rng.Intn(4) {
	case 0: // JSON 6902, inline
		op := pick2(rng, "replace", "add")
		return "- patch: |\n    - op: " + op + "\n      path: " + field + "\n      value: " + value + "\n" + target()
	case 1: // JSON 6902 in a file
		f := fmt.Sprintf("json-%d.yaml", i)
		files[dir+"/"+f] = "- op: add\n  path: /metadata/annotations\n  value: {patched: \"" + f + "\"}\n"
		return "- path: " + f + "\n" + target()
	case 2: // strategic merge, inline, by the object's ID
		return "- patch: |\n    apiVersion: " + apiVersionOf(kind) + "\n    kind: " + kind + "\n    metadata:\n      name: " + name + "\n" + nsLine(kind) + "      labels:\n        patched: sm\n"
	default: // strategic merge in a file, with a target
		f := fmt.Sprintf("sm-%d.yaml", i)
		files[dir+"/"+f] = "apiVersion: " + apiVersionOf(kind) + "\nkind: " + kind + "\nmetadata:\n  name: any\n  annotations:\n    note: from-" + f + "\n"
		return "- path: " + f + "\n" + target()
	}
}

func pick2(rng *rand.Rand, a, b string) string {
	if rng.Intn(2) == 0 {
		return a
	}
	return b
}

func nsLine(kind string) string {
	if kind == "NamespaceIntent" {
		return ""
	}
	return "      namespace: bookinfo\n"
}

func apiVersionOf(kind string) string {
	switch kind {
	case "ServiceIntent", "NamespaceIntent":
		return "meshintent.io/v1alpha1"
	case "VirtualService", "DestinationRule":
		return "networking.istio.io/v1"
	case "AuthorizationPolicy":
		return "security.istio.io/v1"
	case "Deployment":
		return "apps/v1"
	}
	return "v1"
}

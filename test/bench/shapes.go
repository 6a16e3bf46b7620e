package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshintent/meshintent/pkg/render"
)

// shape is a layout of a repository: a base of one file per service listed
// by a kustomization, and the kustomizations above it that the build
// starts from. Each shape is written twice: once with ServiceIntents
// (meshintent's side) and once with the VirtualServices and
// DestinationRules they render to (the peer's side, as a team would write
// them by hand), with the same transformers and equivalent patches.
type shape struct {
	name string
	// about describes the shape for the table's legend.
	about string
	// target is the directory the build starts from, relative to the
	// repository root.
	target string
	// overlays are the files above base, by slash path relative to the
	// repository root; peer selects the hand-written side's version.
	overlays func(ns string, peer bool) map[string]string
}

// shapes are the shapes of issue 15, by name.
var shapes = []shape{
	{
		name:     "flat",
		about:    "one kustomization listing the files",
		target:   "base",
		overlays: func(string, bool) map[string]string { return nil },
	},
	{
		name:     "overlay",
		about:    "base + overlays/prod adding `labels: [{pairs: {env: prod}}]` and one JSON6902 patch on one object",
		target:   "overlays/prod",
		overlays: overlayFiles,
	},
	{
		name: "overlay2",
		about: "base → regions/eu (`namespace:`, `commonAnnotations`) → overlays/eu-prod (`labels`, " +
			"a strategic-merge patch on one object)",
		target:   "overlays/eu-prod",
		overlays: overlay2Files,
	},
}

// shapeNamed returns the shape called name.
func shapeNamed(name string) (shape, error) {
	i := slices.IndexFunc(shapes, func(s shape) bool { return s.name == name })
	if i < 0 {
		return shape{}, fmt.Errorf("-shapes: unknown shape %q (known: flat, overlay, overlay2)", name)
	}
	return shapes[i], nil
}

// overlayFiles is overlays/prod: the env label on every object and a
// JSON6902 patch of svc-00000's timeout. On the peer's side the patch sets
// the timeout of the VirtualService's first HTTP route.
func overlayFiles(_ string, peer bool) map[string]string {
	kind, path := "ServiceIntent", "/spec/timeout"
	if peer {
		kind, path = "VirtualService", "/spec/http/0/timeout"
	}
	return map[string]string{
		"overlays/prod/kustomization.yaml": fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base
labels:
- pairs:
    env: prod
patches:
- target:
    kind: %s
    name: svc-00000
  patch: |-
    - op: add
      path: %s
      value: 5s
`, kind, path),
	}
}

// overlay2Files is two levels above base: regions/eu moves everything to
// namespace <ns>-eu and annotates it; overlays/eu-prod labels it and
// patches svc-00001 with a strategic-merge patch (on meshintent's side its
// timeout, on the peer's side its VirtualService's exportTo). The patch
// names the object by the namespace regions/eu moved it to, <ns>-eu
// (kustomize matches that and the namespace in base alike).
func overlay2Files(ns string, peer bool) map[string]string {
	ns += "-eu"
	patch := fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: svc-00001
  namespace: %s
spec:
  timeout: 4s
`, ns)
	if peer {
		patch = fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc-00001
  namespace: %s
spec:
  exportTo:
  - "."
`, ns)
	}
	return map[string]string{
		"regions/eu/kustomization.yaml": fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base
namespace: %s
commonAnnotations:
  example.com/region: eu
`, ns),
		"overlays/eu-prod/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../regions/eu
labels:
- pairs:
    env: prod
patches:
- path: svc-00001.yaml
`,
		"overlays/eu-prod/svc-00001.yaml": patch,
	}
}

// writeShape writes the shape with n services of namespace ns twice below
// dir: dir/ours with ServiceIntents and dir/peer with what they render to.
// It returns the two repository roots.
func writeShape(ctx context.Context, dir string, s shape, ns string, n int) (ours, peer string, err error) {
	ours, peer = filepath.Join(dir, "ours"), filepath.Join(dir, "peer")
	if err := writeIntentRepo(filepath.Join(ours, "base"), ns, n); err != nil {
		return "", "", err
	}
	// The file that marks the repository root, as in examples/repo.
	if err := os.WriteFile(filepath.Join(ours, "meshintent.yaml"), []byte("policies: []\n"), 0o644); err != nil {
		return "", "", err
	}
	// The hand-written side's base is what meshintent's base renders to.
	res, err := render.Render(ctx, render.Options{Root: ours, Path: "base"})
	if err != nil {
		return "", "", fmt.Errorf("rendering the %s base: %w", s.name, err)
	}
	if err := writePlainRepo(filepath.Join(peer, "base"), res.Objects); err != nil {
		return "", "", err
	}
	for side, root := range map[bool]string{false: ours, true: peer} {
		if err := writeFiles(root, s.overlays(ns, side)); err != nil {
			return "", "", err
		}
	}
	return ours, peer, nil
}

// writeFiles writes files (slash path relative to root → content).
func writeFiles(root string, files map[string]string) error {
	for path, content := range files {
		p := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseShapes parses -shapes.
func parseShapes(list string) ([]shape, error) {
	var out []shape
	for _, name := range strings.Split(list, ",") {
		s, err := shapeNamed(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

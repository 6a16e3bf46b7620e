package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// writeIntentRepo writes n ServiceIntents for namespace ns and a
// kustomization listing them.
func writeIntentRepo(dir, ns string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var k strings.Builder
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for i := range n {
		name := fmt.Sprintf("svc-%05d.yaml", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(gitfixture.BenchIntent(ns, i)), 0o644); err != nil {
			return err
		}
		k.WriteString("- " + name + "\n")
	}
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644)
}

// writePlainRepo writes the rendered objects as hand-written YAML, the
// VirtualService and DestinationRule of a service in one file.
func writePlainRepo(dir string, set manifest.Set) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]*strings.Builder{}
	var order []string
	for _, o := range set {
		if o.GetKind() != "VirtualService" && o.GetKind() != "DestinationRule" {
			continue
		}
		name := o.GetName() + ".yaml"
		b, ok := files[name]
		if !ok {
			b = &strings.Builder{}
			files[name] = b
			order = append(order, name)
		} else {
			b.WriteString("---\n")
		}
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return err
		}
		b.Write(y)
	}
	var k strings.Builder
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, name := range order {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(files[name].String()), 0o644); err != nil {
			return err
		}
		k.WriteString("- " + name + "\n")
	}
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644)
}

func nsObject(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name},
	}}
}

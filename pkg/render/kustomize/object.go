package kustomize

import (
	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/intent"
)

func meta(obj map[string]any) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	return m
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func refOf(obj map[string]any) intent.ObjectRef {
	m := meta(obj)
	return intent.ObjectRef{Kind: str(obj, "kind"), Namespace: str(m, "namespace"), Name: str(m, "name")}
}

func scalarAt(doc *yaml.Node, keys ...any) string {
	n := intent.NodeAt(doc, intent.P(keys...))
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

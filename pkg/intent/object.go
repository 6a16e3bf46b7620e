package intent

import yaml "go.yaml.in/yaml/v3"

// Metadata returns the metadata map of a decoded object, nil when it has
// none.
func Metadata(obj map[string]any) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	return m
}

// StringField returns m[key] when it is a string, "" otherwise.
func StringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// RefOf returns the kind, namespace and name of a decoded object.
func RefOf(obj map[string]any) ObjectRef {
	m := Metadata(obj)
	return ObjectRef{Kind: StringField(obj, "kind"), Namespace: StringField(m, "namespace"), Name: StringField(m, "name")}
}

// ScalarAt returns the value of the scalar at keys below doc (see P), ""
// when there is none or it is not a scalar.
func ScalarAt(doc *yaml.Node, keys ...any) string {
	n := NodeAt(doc, P(keys...))
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

package yamlguard

import (
	"bytes"
	"errors"
	"io"
	"iter"

	yaml "go.yaml.in/yaml/v3"
)

// Documents yields the documents of the YAML stream data in order, each as
// its DocumentNode with a nil error; a syntax error ends the stream and is
// yielded last, with a nil node. It checks no limit: Budget.Parse does.
func Documents(data []byte) iter.Seq2[*yaml.Node, error] {
	return func(yield func(*yaml.Node, error) bool) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(&doc, nil) {
				return
			}
		}
	}
}

// Content returns the one node a document holds (a null scalar for an
// empty document such as "---"), nil when doc is not a document holding one.
func Content(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return nil
}

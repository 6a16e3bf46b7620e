package intent

import (
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// FileLines is a LineFinder over the repository's YAML files. Each file is
// read and parsed once, when a line is first asked for; it is safe for
// concurrent use.
type FileLines struct {
	read  func(source string) ([]byte, error)
	mu    sync.Mutex
	files map[string][]*yaml.Node
}

// NewFileLines returns a FileLines that reads a repo-relative file with read.
func NewFileLines(read func(source string) ([]byte, error)) *FileLines {
	return &FileLines{read: read, files: map[string][]*yaml.Node{}}
}

// Add records source's already parsed documents (document or content nodes),
// so that they are not read again.
func (f *FileLines) Add(source string, docs []*yaml.Node) {
	f.mu.Lock()
	f.files[source] = docs
	f.mu.Unlock()
}

func (f *FileLines) docs(source string) []*yaml.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	if docs, ok := f.files[source]; ok {
		return docs
	}
	var docs []*yaml.Node
	if f.read != nil {
		if b, err := f.read(source); err == nil {
			docs, _ = ParseDocuments(b)
		}
	}
	f.files[source] = docs
	return docs
}

// FieldLine implements LineFinder.
func (f *FileLines) FieldLine(source string, obj ObjectRef, path Path) int {
	doc := FindDocument(f.docs(source), obj)
	if doc == nil {
		return 0
	}
	return NodeLine(doc, path)
}

// FieldNode returns the node of path inside the document of source that
// declares obj, nil when the document or the field is not there.
func (f *FileLines) FieldNode(source string, obj ObjectRef, path Path) *yaml.Node {
	return NodeAt(FindDocument(f.docs(source), obj), path)
}

// NodeAt returns the node of path under n, nil when it is not there.
func NodeAt(n *yaml.Node, path Path) *yaml.Node {
	n = content(n)
	for _, e := range path {
		if n == nil {
			return nil
		}
		if e.IsIndex {
			if n.Kind != yaml.SequenceNode || e.Index < 0 || e.Index >= len(n.Content) {
				return nil
			}
			n = content(n.Content[e.Index])
			continue
		}
		n = content(lookup(n, e.Key))
	}
	return n
}

// DocumentLine returns the line of obj's document in source, 0 when not found.
func (f *FileLines) DocumentLine(source string, obj ObjectRef) int {
	if doc := FindDocument(f.docs(source), obj); doc != nil {
		return doc.Line
	}
	return 0
}

// ParseDocuments parses a YAML stream into its documents' content nodes,
// skipping empty documents. It returns the documents read before an error.
func ParseDocuments(b []byte) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	for doc, err := range yamlguard.Documents(b) {
		if err != nil {
			return docs, err
		}
		if c := yamlguard.Content(doc); c != nil {
			docs = append(docs, c)
		}
	}
	return docs, nil
}

// FindDocument picks the document that declares obj among docs: the one of
// the same kind and name (and namespace, when several match), else the one
// starting at obj.Line, else the only one of that kind. It returns nil when
// none fits.
func FindDocument(docs []*yaml.Node, obj ObjectRef) *yaml.Node {
	var byName, byKind []*yaml.Node
	for _, d := range docs {
		d = content(d)
		if d == nil || d.Kind != yaml.MappingNode {
			continue
		}
		if d.Line == obj.Line && obj.Line > 0 {
			return d
		}
		if scalar(lookup(d, "kind")) != obj.Kind {
			continue
		}
		byKind = append(byKind, d)
		if scalar(lookup(lookup(d, "metadata"), "name")) == obj.Name {
			byName = append(byName, d)
		}
	}
	if len(byName) > 1 {
		for _, d := range byName {
			if scalar(lookup(lookup(d, "metadata"), "namespace")) == obj.Namespace {
				return d
			}
		}
	}
	if len(byName) > 0 {
		return byName[0]
	}
	if len(byKind) == 1 {
		return byKind[0]
	}
	return nil
}

// NodeLine returns the line of path under n: the line of the last key (or
// list item), or of the closest parent present when path is not all there.
func NodeLine(n *yaml.Node, path Path) int {
	line, _ := nodePos(n, path, true)
	return line
}

// content unwraps document and alias nodes.
func content(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	n = content(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	n = content(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

package render

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

// checkObject checks what every object from the repository needs before
// anything else sees it: apiVersion, kind and a name (checkIdentity), and
// valid names (checkNames).
func (r *renderer) checkObject(b fastpath.Object) error {
	if err := checkIdentity(b); err != nil {
		return err
	}
	return r.checkNames(b)
}

// checkNames validates metadata.name and metadata.namespace of an object
// from the repository before anything else sees them (see
// manifest.CheckNames): a name holding an escape sequence, a bidi override,
// a line break or markup never reaches a plan, a report or a terminal. The
// error names the file and the line of the bad field (of the object when
// the field's line is unknown), shows its Kind/namespace/name
// with unsafe characters escaped and quotes the bad value.
//
// Intents are left to their decoder, which checks their names more strictly
// (DNS-1123 labels) and names the overlay patch that wrote a bad one.
func (r *renderer) checkNames(b fastpath.Object) error {
	apiVersion := intent.StringField(b.Obj, "apiVersion")
	if apiVersion == v1alpha1.APIVersion || strings.HasPrefix(apiVersion, v1alpha1.Group+"/") {
		return nil
	}
	m := intent.Metadata(b.Obj)
	kind, ns, name := intent.StringField(b.Obj, "kind"), intent.StringField(m, "namespace"), intent.StringField(m, "name")
	if err := manifest.CheckNames(kind, ns, name); err != nil {
		line := b.Line
		var ne *manifest.NameError
		if errors.As(err, &ne) {
			if l := r.nameLine(b, kind, strings.TrimPrefix(ne.Field, "metadata."), ne.Value); l > 0 {
				line = l
			}
		}
		where := b.Source
		if line > 0 {
			where = fmt.Sprintf("%s:%d", b.Source, line)
		}
		return fmt.Errorf("%s: %s: %w", where, termsafe.Line(manifest.ObjectID(kind, ns, name)), err)
	}
	return nil
}

// nameLine is the line of metadata.<field> (name or namespace) of b in its
// source file, 0 when unknown. The object's document is found by its
// built name; when an overlay renamed the object (namePrefix, nameSuffix)
// and the file has several objects of its kind, no document has that
// name, so for the name the line is that of the document of kind whose
// name the built value holds — the longest such name, when only one
// document has it. A namespace the overlay replaced is not in the file:
// 0 then, unless the file has only one object of the kind.
func (r *renderer) nameLine(b fastpath.Object, kind, field, value string) int {
	if r.lines == nil {
		return 0
	}
	path := intent.P("metadata", field)
	if l := r.lines.FieldLine(b.Source, intent.RefOf(b.Obj), path); l > 0 || field != "name" {
		return l
	}
	data, err := r.fs.ReadFile(filepath.Join(r.fs.Root(), filepath.FromSlash(b.Source)))
	if err != nil {
		return 0
	}
	docs, _ := intent.ParseDocuments(data)
	var best *yaml.Node
	bestLen, ties := 0, 0
	for _, d := range docs {
		n := intent.NodeAt(d, intent.P("kind"))
		if n == nil || n.Value != kind {
			continue
		}
		nameNode := intent.NodeAt(d, path)
		if nameNode == nil || nameNode.Kind != yaml.ScalarNode || nameNode.Value == "" || !strings.Contains(value, nameNode.Value) {
			continue
		}
		switch l := len(nameNode.Value); {
		case l > bestLen:
			best, bestLen, ties = nameNode, l, 1
		case l == bestLen:
			ties++
		}
	}
	if best == nil || ties > 1 {
		return 0
	}
	return best.Line
}

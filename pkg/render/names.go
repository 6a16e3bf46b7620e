package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

// checkObject checks what every object from the repository needs before
// anything else sees it: apiVersion, kind and a name (checkIdentity), and
// valid names (checkNames).
func (r *renderer) checkObject(b built) error {
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
func (r *renderer) checkNames(b built) error {
	apiVersion := str(b.obj, "apiVersion")
	if apiVersion == v1alpha1.APIVersion || strings.HasPrefix(apiVersion, v1alpha1.Group+"/") {
		return nil
	}
	m := meta(b.obj)
	kind, ns, name := str(b.obj, "kind"), str(m, "namespace"), str(m, "name")
	if err := manifest.CheckNames(kind, ns, name); err != nil {
		line := b.line
		var ne *manifest.NameError
		if errors.As(err, &ne) && r.lines != nil {
			field := strings.TrimPrefix(ne.Field, "metadata.")
			if l := r.lines.FieldLine(b.source, refOf(b.obj), intent.P("metadata", field)); l > 0 {
				line = l
			}
		}
		where := b.source
		if line > 0 {
			where = fmt.Sprintf("%s:%d", b.source, line)
		}
		return fmt.Errorf("%s: %s: %w", where, termsafe.Line(manifest.ObjectID(kind, ns, name)), err)
	}
	return nil
}

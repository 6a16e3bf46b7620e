package cli

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/invopop/jsonschema"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

//go:generate go run gen_descriptions.go

func newSchemaCommand(app *app) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of intent documents, for editor validation",
		Long: `Print a JSON Schema (draft 2020-12) that accepts one NamespaceIntent or
ServiceIntent document; every field carries its description. Save it and
point your editor's YAML language server at it with a modeline on the first
line of each intent file, e.g.
  reconciler schema > meshintent.schema.json
  # yaml-language-server: $schema=../meshintent.schema.json
(the path is relative to the intent file, or an https:// URL).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := IntentSchema()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(app.stdout, string(b))
			return err
		},
	}
}

// IntentSchema returns the JSON Schema of intent documents: one of
// NamespaceIntent or ServiceIntent, told apart by kind. Unknown fields are
// refused, as the decoder refuses them.
func IntentSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		ExpandedStruct: true,
		Mapper:         mapType,
		// The doc comments of api/v1alpha1/intent_types.go, extracted at
		// build time by go generate (the source is not there at run time).
		CommentMap: intentDescriptions(),
	}
	doc := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          "https://meshintent.io/schemas/v1alpha1/intent.json",
		Title:       "meshintent intent document",
		Description: "A NamespaceIntent or ServiceIntent (apiVersion " + v1alpha1.APIVersion + ").",
	}
	for _, k := range []struct {
		kind string
		v    any
	}{
		{v1alpha1.KindNamespaceIntent, &v1alpha1.NamespaceIntent{}},
		{v1alpha1.KindServiceIntent, &v1alpha1.ServiceIntent{}},
	} {
		s := r.Reflect(k.v)
		s.Version, s.ID = "", ""
		s.Title = k.kind
		// TypeMeta is inlined with omitempty tags; both fields are required here.
		if p, ok := s.Properties.Get("apiVersion"); ok {
			p.Const = v1alpha1.APIVersion
			p.Description = "The API version of intents: " + v1alpha1.APIVersion + "."
		}
		if p, ok := s.Properties.Get("kind"); ok {
			p.Const = k.kind
			p.Description = "The kind of intent: " + k.kind + "."
		}
		// The reflector sets a property's description from its field's tag
		// or comment, and embedded fields have neither.
		if p, ok := s.Properties.Get("metadata"); ok {
			p.Description = "The intent's name and, for a ServiceIntent, namespace; labels and annotations."
		}
		s.Required = append([]string{"apiVersion", "kind"}, s.Required...)
		if doc.Definitions == nil {
			doc.Definitions = jsonschema.Definitions{}
		}
		for name, def := range s.Definitions {
			doc.Definitions[name] = def
		}
		s.Definitions = nil
		doc.OneOf = append(doc.OneOf, s)
	}
	// A Destination may leave out its weight (it gets what the others leave
	// of 100), though the field has no omitempty: weight 0 is meaningful.
	if d, ok := doc.Definitions["Destination"]; ok {
		d.Required = slices.DeleteFunc(d.Required, func(f string) bool { return f == "weight" })
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding schema: %w", err)
	}
	return b, nil
}

// mapType gives the schema of types whose JSON form differs from their Go
// shape: durations are strings, and of ObjectMeta only what intents use.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[metav1.Duration]():
		// No description here: the field's own comment describes it.
		return &jsonschema.Schema{
			Type:    "string",
			Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
		}
	case reflect.TypeFor[metav1.ObjectMeta]():
		str := func(desc string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: desc} }
		strMap := func(desc string) *jsonschema.Schema {
			return &jsonschema.Schema{Type: "object", AdditionalProperties: str(""), Description: desc}
		}
		props := jsonschema.NewProperties()
		props.Set("name", &jsonschema.Schema{Type: "string", MinLength: ptr(uint64(1)), MaxLength: ptr(uint64(63)),
			Pattern:     `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`,
			Description: "The intent's name: the namespace's name for a NamespaceIntent, the service's (unless spec.service is set) for a ServiceIntent. A DNS label."})
		props.Set("namespace", str("The namespace of a ServiceIntent; ignored for a NamespaceIntent, which is cluster-scoped."))
		props.Set("labels", strMap("Labels of the intent; they are not copied to the generated objects."))
		props.Set("annotations", strMap("Annotations of the intent; they are not copied to the generated objects."))
		return &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"name"}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

package cli

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

func newSchemaCommand(app *app) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of intent documents, for editor validation",
		Long: `Print a JSON Schema (draft 2020-12) that accepts one NamespaceIntent or
ServiceIntent document. Point your editor's YAML language server at it, e.g.
  # yaml-language-server: $schema=./meshintent.schema.json`,
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
		}
		if p, ok := s.Properties.Get("kind"); ok {
			p.Const = k.kind
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
		return &jsonschema.Schema{
			Type:        "string",
			Pattern:     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`,
			Description: "A duration such as 500ms, 2s or 1m30s.",
		}
	case reflect.TypeFor[metav1.ObjectMeta]():
		str := &jsonschema.Schema{Type: "string"}
		strMap := &jsonschema.Schema{Type: "object", AdditionalProperties: str}
		props := jsonschema.NewProperties()
		props.Set("name", &jsonschema.Schema{Type: "string", MinLength: ptr(uint64(1)), MaxLength: ptr(uint64(63)),
			Pattern: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`})
		props.Set("namespace", str)
		props.Set("labels", strMap)
		props.Set("annotations", strMap)
		return &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"name"}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

package fastpath

import (
	"path"
	"path/filepath"
	"regexp"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// transformKeys are the kustomization fields, besides plainKeys, that the
// fast path applies (see Transforms).
var transformKeys = map[string]bool{
	"namespace": true, "namePrefix": true, "nameSuffix": true,
	"commonLabels": true, "labels": true, "commonAnnotations": true, "patches": true,
}

// knownFields are the kustomization fields a fallback reason may name;
// another key is "kustomization field (other)", so that reasons stay few.
var knownFields = map[string]bool{
	"bases": true, "buildMetadata": true, "components": true, "configMapGenerator": true,
	"configurations": true, "crds": true, "generatorOptions": true, "generators": true,
	"helmCharts": true, "helmChartInflationGenerator": true, "helmGlobals": true, "images": true,
	"openapi": true, "patchesJson6902": true, "patchesStrategicMerge": true, "replacements": true,
	"replicas": true, "secretGenerator": true, "sortOptions": true, "transformers": true,
	"validators": true, "vars": true, "resources": true,
	"namespace": true, "namePrefix": true, "nameSuffix": true, "commonLabels": true,
	"labels": true, "commonAnnotations": true, "patches": true,
}

// fieldReason is the fallback reason for a kustomization field.
func fieldReason(field string) string {
	if !knownFields[field] {
		field = "(other)"
	}
	return "kustomization field " + field
}

// transforms reads the transformers of n's kustomization (doc, parsed from
// kfile) into n.Transforms, or marks n not fast when one of them is beyond
// the fast path: custom field specs, patch options, a value that kustomize,
// which reads kustomizations as YAML 1.1, might read otherwise.
func (s *scanner) transforms(n *Node, kfile string, doc *yaml.Node) {
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return // empty: no transforms
	}
	root := doc.Content[0]
	tr := &Transforms{}
	var common map[string]string
	fail := func(field, what string) {
		n.notFast("kustomization field "+field, kfile+": "+field+": "+what)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		field, v := root.Content[i].Value, root.Content[i+1]
		var ok bool
		switch field {
		case "namespace":
			tr.Namespace, ok = safeString(v)
		case "namePrefix":
			tr.NamePrefix, ok = safeString(v)
		case "nameSuffix":
			tr.NameSuffix, ok = safeString(v)
		case "commonAnnotations":
			tr.Annotations, ok = stringMap(v)
		case "commonLabels":
			common, ok = stringMap(v)
		case "labels":
			var ls []map[string]string
			ls, ok = labelEntries(v)
			tr.Labels = ls
		case "patches":
			var ps []TransformPatch
			if ps, ok = s.patchEntries(n, kfile, v); ok {
				tr.Patches = ps
			}
		default:
			continue
		}
		if !ok {
			fail(field, "left to kustomize")
			return
		}
	}
	if len(common) > 0 {
		tr.Labels = append(tr.Labels, common) // after the labels entries
	}
	if len(tr.Patches) > 0 || tr.Namespace != "" || tr.NamePrefix != "" || tr.NameSuffix != "" || len(tr.Labels) > 0 || len(tr.Annotations) > 0 {
		n.Transforms = tr
	}
}

// yaml11Special matches plain scalars that YAML 1.1 (kustomize's reading
// of kustomizations) may read as something other than the string yaml.v3
// reads: booleans, nulls, numbers of any base, sexagesimals, infinities.
var yaml11Special = regexp.MustCompile(`^(?i:y|n|yes|no|true|false|on|off|null|~|\.inf|-\.inf|\+\.inf|\.nan)$|^[-+]?\.?[0-9]`)

// safeString is a string scalar that YAML 1.1 and yaml.v3 read alike.
func safeString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Style&yaml.TaggedStyle != 0 {
		return "", false
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && (n.Value == "" || yaml11Special.MatchString(n.Value)) {
		return "", false
	}
	return n.Value, true
}

// stringMap is a mapping of safe strings to safe strings.
func stringMap(n *yaml.Node) (map[string]string, bool) {
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, ok := safeString(n.Content[i])
		if !ok {
			return nil, false
		}
		v, ok := safeString(n.Content[i+1])
		if !ok {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

// safeBool is a true or false scalar.
func safeBool(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && (n.Value == "true" || n.Value == "false")
}

// labelEntries reads a labels list: pairs and the include flags, which
// change nothing for the kinds the fast path transforms; custom field specs
// are left to kustomize.
func labelEntries(n *yaml.Node) ([]map[string]string, bool) {
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	var out []map[string]string
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			return nil, false
		}
		var pairs map[string]string
		for i := 0; i+1 < len(e.Content); i += 2 {
			v := e.Content[i+1]
			switch e.Content[i].Value {
			case "pairs":
				var ok bool
				if pairs, ok = stringMap(v); !ok {
					return nil, false
				}
			case "includeSelectors", "includeTemplates", "includeVolumeClaimTemplates":
				if !safeBool(v) {
					return nil, false
				}
			default:
				return nil, false
			}
		}
		out = append(out, pairs)
	}
	return out, true
}

// targetFields maps the keys of a patch target to the fields of sel they set.
func targetFields(sel *types.Selector) map[string]*string {
	return map[string]*string{
		"group": &sel.Group, "version": &sel.Version, "kind": &sel.Kind, "name": &sel.Name, "namespace": &sel.Namespace,
		"labelSelector": &sel.LabelSelector, "annotationSelector": &sel.AnnotationSelector,
	}
}

// patchEntries reads a patches list: inline patches and patch files in or
// below the kustomization's directory (kustomize's root-only loading), each
// with an optional target; options are left to kustomize.
func (s *scanner) patchEntries(n *Node, kfile string, v *yaml.Node) ([]TransformPatch, bool) {
	if v.Kind != yaml.SequenceNode {
		return nil, false
	}
	var out []TransformPatch
	for _, e := range v.Content {
		if e.Kind != yaml.MappingNode {
			return nil, false
		}
		var p TransformPatch
		var file string
		for i := 0; i+1 < len(e.Content); i += 2 {
			key, val := e.Content[i].Value, e.Content[i+1]
			switch key {
			case "patch":
				if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!str" {
					return nil, false
				}
				p.Inline, p.Source = val.Value, kfile
			case "path":
				var ok bool
				if file, ok = safeString(val); !ok {
					return nil, false
				}
			case "target":
				if val.Kind != yaml.MappingNode {
					return nil, false
				}
				p.Target = &types.Selector{}
				fields := targetFields(p.Target)
				for j := 0; j+1 < len(val.Content); j += 2 {
					field := fields[val.Content[j].Value]
					tv, ok := safeString(val.Content[j+1])
					if !ok || field == nil {
						return nil, false
					}
					*field = tv
				}
			default:
				return nil, false
			}
		}
		if (file == "") == (p.Inline == "") {
			return nil, false // kustomize has its own words for these
		}
		if file != "" {
			if filepath.IsAbs(file) || isRemoteFile(file) {
				return nil, false
			}
			abs, err := s.fs.Resolve(filepath.Join(n.Dir, file))
			if err != nil || !rootfs.Within(n.Dir, abs) || !s.fs.Exists(abs) || s.fs.IsDir(abs) {
				return nil, false
			}
			p.File, p.Source = abs, path.Join(n.SrcDir, filepath.ToSlash(file))
		}
		out = append(out, p)
	}
	return out, true
}

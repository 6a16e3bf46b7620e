package fastpath

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	//lint:ignore SA1019 the builtin transformers are kustomize's own code, the only way to give byte-for-byte what krusty gives; pinned in go.mod
	"sigs.k8s.io/kustomize/api/builtins" //nolint:staticcheck // as above
	"sigs.k8s.io/kustomize/api/filters/namespace"
	"sigs.k8s.io/kustomize/api/hasher"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// kustomizeMu serialises every use of kustomize's code: kustomize keeps
// global state (the OpenAPI schema in use, which a build resets and its
// filters read) and is not safe for concurrent builds. The kustomize
// package's builds take it too (see LockKustomize).
var kustomizeMu sync.Mutex

// LockKustomize takes the lock every use of kustomize's code runs under
// and returns its release.
func LockKustomize() (unlock func()) {
	kustomizeMu.Lock()
	return kustomizeMu.Unlock
}

// Transforms are the transformers of one kustomization that the fast path
// applies, in kustomize's order: patches, namespace, namePrefix,
// nameSuffix, labels (the labels entries, then commonLabels) and
// commonAnnotations.
//
// For the kinds the fast path transforms (see specialKinds) kustomize's
// default field specs all come down to metadata/labels,
// metadata/annotations and metadata/name, and its namespace transformer
// to metadata.namespace: includeSelectors and includeTemplates change
// nothing for them.
type Transforms struct {
	Patches     []TransformPatch
	Namespace   string
	NamePrefix  string
	NameSuffix  string
	Labels      []map[string]string
	Annotations map[string]string
}

// TransformPatch is one entry of a kustomization's patches: a strategic
// merge or JSON 6902 patch, with its target selector if it has one.
type TransformPatch struct {
	Source string // the patch file, or the kustomization of an inline patch
	File   string // absolute path of the patch file, "" for an inline patch
	Inline string
	Target *types.Selector
}

// specialKinds are the kinds that kustomize's default transformer
// configuration (kustomize/api v0.21, internal/konfig/builtinpluginconsts)
// names in a field spec or a name reference: their labels, annotations,
// namespaces or names reach into other fields or other objects. A tree
// with one of them goes to kustomize when it has transformers. Every other
// kind (intents, Istio's) only gets the generic field specs.
var specialKinds = map[string]bool{
	"APIService": true, "ClusterRole": true, "ClusterRoleBinding": true, "ConfigMap": true,
	"CronJob": true, "CustomResourceDefinition": true, "DaemonSet": true, "Deployment": true,
	"HorizontalPodAutoscaler": true, "Ingress": true, "IngressClass": true, "Job": true,
	"MutatingWebhookConfiguration": true, "Namespace": true, "NetworkPolicy": true, "Node": true,
	"PersistentVolume": true, "PersistentVolumeClaim": true, "Pod": true, "PodDisruptionBudget": true,
	"PodTemplate": true, "PriorityClass": true, "ReplicaSet": true, "ReplicationController": true,
	"Role": true, "RoleBinding": true, "Secret": true, "Service": true, "ServiceAccount": true,
	"StatefulSet": true, "StorageClass": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "ValidatingWebhookConfiguration": true,
}

// NotFastError is ErrNotFast with the reason: Reason is short and from a
// fixed vocabulary (a metric label), Detail names the file and what in it.
type NotFastError struct {
	Reason string
	Detail string
}

func (e *NotFastError) Error() string {
	return fmt.Sprintf("not for the fast path: %s (%s)", e.Reason, e.Detail)
}

// Is makes errors.Is(err, ErrNotFast) hold.
func (e *NotFastError) Is(target error) bool { return target == ErrNotFast }

func notFast(reason, format string, args ...any) error {
	return &NotFastError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Reasons for leaving a tree to kustomize (NotFastError.Reason), besides
// the kustomization field names of Node.Reason.
const (
	ReasonResourceYAML = "resource YAML"      // aliases, tags, timestamps... (ErrExotic)
	ReasonResource     = "kustomize resource" // a List, or kustomize's annotations
	ReasonKind         = "kind with field specs"
	ReasonIdentity     = "object without identity"
	ReasonPatch        = "patch"
	ReasonConflict     = "ID conflict"
)

// tobj is an object being transformed, and where it came from.
type tobj struct {
	res    *resource.Resource
	source string
	line   int
}

// transformer applies the transforms of a tree.
type transformer struct {
	fs       *rootfs.Confined
	rf       *resource.Factory
	helpers  *resmap.PluginHelpers
	maxDepth int
}

// Transform builds a tree whose kustomizations the scan found fast
// (Node.Fast) from the objects of its resource files, perFile in the order
// of a depth-first walk of top's Items (as precheck reads them): each
// kustomization's resources, then its transforms, applied with kustomize's
// own plugins and filters to one object at a time. It gives the objects
// kustomize would, in its order; anything it cannot be sure of (a kind
// with special field specs, a patch that fails or matches no single object,
// an ID conflict, an object a transform deletes or empties) is a
// *NotFastError, which kustomize then builds and reports.
func Transform(ctx context.Context, fsys *rootfs.Confined, top *Node, perFile [][]Object) ([]Object, error) {
	maxDepth := fsys.MaxDepth()
	// Every object is checked before kustomize's code sees it.
	for _, f := range perFile {
		for _, b := range f {
			if !hasIdentity(b.Obj) {
				return nil, notFast(ReasonIdentity, "%s: %s", b.Source, ObjectName(b.Obj))
			}
			if kind, _ := b.Obj["kind"].(string); specialKinds[kind] {
				return nil, notFast(ReasonKind, "%s: %s", b.Source, ObjectName(b.Obj))
			}
		}
	}
	unlock := LockKustomize()
	defer unlock()
	// The schema a kustomize build starts from (krusty resets it so).
	if err := openapi.SetSchema(nil, nil, true); err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	rf := resource.NewFactory(&hasher.Hasher{})
	t := &transformer{fs: fsys, rf: rf, helpers: resmap.NewPluginHelpers(nil, nil, resmap.NewFactory(rf), types.DisabledPluginConfig()), maxDepth: maxDepth}
	next := 0
	objs, err := t.node(ctx, top, perFile, &next)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		o.res.RemoveBuildAnnotations() // as kustomize's build does last
		v, err := Value(o.res.YNode(), maxDepth)
		if err != nil {
			return nil, notFast(ReasonResourceYAML, "%s: an object as transformed: %v", o.source, err)
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 || !hasIdentity(m) {
			return nil, notFast(ReasonIdentity, "%s: an object as transformed", o.source)
		}
		// The kustomize package's build leaves no empty annotations (it
		// removes its origin annotation, then the map if it is empty).
		if meta, _ := m["metadata"].(map[string]any); meta != nil {
			if a, ok := meta["annotations"].(map[string]any); ok && len(a) == 0 {
				delete(meta, "annotations")
			}
		}
		if kustomizeTreatsSpecially(m) {
			return nil, notFast(ReasonResource, "%s: %s as transformed", o.source, ObjectName(m))
		}
		out = append(out, Object{Obj: m, Source: o.source, Line: o.line})
	}
	return out, nil
}

// node builds one kustomization: its resources in order (bases built
// first), refusing duplicates as kustomize's accumulator does, then its
// transforms.
func (t *transformer) node(ctx context.Context, n *Node, perFile [][]Object, next *int) ([]tobj, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var objs []tobj
	for _, it := range n.Items {
		if it.Sub != nil {
			sub, err := t.node(ctx, it.Sub, perFile, next)
			if err != nil {
				return nil, err
			}
			objs = append(objs, sub...)
			continue
		}
		if *next >= len(perFile) {
			return nil, errors.New("fastpath: fewer resource files than the tree lists")
		}
		file := perFile[*next]
		*next++
		nodes := make([]*kyaml.RNode, len(file))
		for i, b := range file {
			node, err := toNode(b.Obj)
			if err != nil {
				return nil, notFast(ReasonResourceYAML, "%s: %v", b.Source, err)
			}
			nodes[i] = kyaml.NewRNode(node)
		}
		// As kustomize makes resources of a file's documents.
		rs, err := t.rf.ResourcesFromRNodes(nodes)
		if err != nil || len(rs) != len(file) {
			return nil, notFast(ReasonResource, "%s: kustomize reads it otherwise", it.Source)
		}
		for i, b := range file {
			objs = append(objs, tobj{res: rs[i], source: b.Source, line: b.Line})
		}
	}
	if err := checkIDs(objs, n); err != nil {
		return nil, err
	}
	if n.Transforms == nil {
		return objs, nil
	}
	objs, err := t.apply(n, objs)
	if err != nil {
		return nil, err
	}
	return objs, checkIDs(objs, n)
}

// idKey is a resource's identity as kustomize compares them (resid.ResId
// Equals): group, version, kind, name and effective namespace.
type idKey struct {
	gvk  resid.Gvk
	name string
	ns   string
}

func keyOf(id resid.ResId) idKey {
	return idKey{gvk: id.Gvk, name: id.Name, ns: id.EffectiveNamespace()}
}

// checkIDs refuses two objects with one ID: kustomize refuses them when it
// adds them to a resource map (with its own message, which it gives).
func checkIDs(objs []tobj, n *Node) error {
	seen := make(map[idKey]bool, len(objs))
	for _, o := range objs {
		k := keyOf(o.res.CurId())
		if seen[k] {
			return notFast(ReasonConflict, "%s: %s twice", n.SrcDir, o.res.CurId())
		}
		seen[k] = true
	}
	return nil
}

// apply runs n's transforms over objs with kustomize's builtin plugins, each
// on a resource map of one object (kustomize's own maps compare every
// object with every other on each insertion).
func (t *transformer) apply(n *Node, objs []tobj) ([]tobj, error) {
	tr := n.Transforms
	var err error
	for _, p := range tr.Patches {
		if objs, err = t.patch(n, p, objs); err != nil {
			return nil, err
		}
	}
	var plugins []resmap.Transformer
	if tr.Namespace != "" {
		plugins = append(plugins, &builtins.NamespaceTransformerPlugin{
			ObjectMeta:             types.ObjectMeta{Namespace: tr.Namespace},
			SetRoleBindingSubjects: namespace.DefaultSubjectsOnly,
		})
	}
	if tr.NamePrefix != "" {
		plugins = append(plugins, &builtins.PrefixTransformerPlugin{Prefix: tr.NamePrefix, FieldSpecs: types.FsSlice{{Path: "metadata/name"}}})
	}
	if tr.NameSuffix != "" {
		plugins = append(plugins, &builtins.SuffixTransformerPlugin{Suffix: tr.NameSuffix, FieldSpecs: types.FsSlice{{Path: "metadata/name"}}})
	}
	for _, l := range tr.Labels {
		plugins = append(plugins, &builtins.LabelTransformerPlugin{Labels: l, FieldSpecs: []types.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}}})
	}
	if len(tr.Annotations) > 0 {
		plugins = append(plugins, &builtins.AnnotationsTransformerPlugin{Annotations: tr.Annotations, FieldSpecs: []types.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}}})
	}
	for _, p := range plugins {
		for i := range objs {
			if err := t.one(p, objs[i].res); err != nil {
				return nil, notFast(ReasonPatch, "%s: %v", n.SrcDir, err)
			}
		}
		if tr.Namespace != "" {
			// kustomize's namespace transformer refuses the IDs it merges.
			if err := checkIDs(objs, n); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

// one runs p on a resource map holding res alone, and returns an error when
// p dropped or replaced it.
func (t *transformer) one(p resmap.Transformer, res *resource.Resource) error {
	m := resmap.New()
	if err := m.Append(res); err != nil {
		return err
	}
	if err := p.Transform(m); err != nil {
		return err
	}
	if m.Size() != 1 || m.Resources()[0] != res || res.IsNilOrEmpty() {
		return errors.New("the transform removed an object")
	}
	return nil
}

// patch applies one patches entry, configured as kustomize configures it.
func (t *transformer) patch(n *Node, p TransformPatch, objs []tobj) ([]tobj, error) {
	text := p.Inline
	if p.File != "" {
		// Passed inline: kustomize then trims the text, which a patch
		// reads the same either way (a difference fails, and goes to
		// kustomize).
		b, err := t.fs.ReadResolved(p.File)
		if err != nil {
			return nil, notFast(ReasonPatch, "%s: %v", p.Source, err)
		}
		text = string(b)
	}
	type config struct {
		Patch  string          `json:"patch,omitempty"`
		Target *types.Selector `json:"target,omitempty"`
	}
	plugin := &builtins.PatchTransformerPlugin{}
	c, err := kyaml.Marshal(config{Patch: text, Target: p.Target})
	if err != nil {
		return nil, fmt.Errorf("fastpath: %w", err)
	}
	if err := plugin.Config(t.helpers, c); err != nil {
		return nil, notFast(ReasonPatch, "%s: %v", p.Source, err)
	}
	if p.Target != nil {
		for i := range objs {
			if err := t.one(plugin, objs[i].res); err != nil {
				return nil, notFast(ReasonPatch, "%s: %v", p.Source, err)
			}
		}
		return objs, nil
	}
	// A strategic-merge patch without a target applies to the one object
	// with its ID (current or earlier); kustomize reports none or several.
	patches, err := t.rf.SliceFromBytes([]byte(text))
	if err != nil || len(patches) == 0 {
		return nil, notFast(ReasonPatch, "%s: not a strategic-merge patch", p.Source)
	}
	m := resmap.New()
	for _, pr := range patches {
		id := pr.OrgId()
		var found *resource.Resource
		for _, o := range objs {
			if matchesAnyID(o.res, id) {
				if found != nil {
					return nil, notFast(ReasonPatch, "%s: %s matches several objects", p.Source, id)
				}
				found = o.res
			}
		}
		if found == nil {
			return nil, notFast(ReasonPatch, "%s: %s matches no object", p.Source, id)
		}
		if _, err := m.GetById(found.CurId()); err != nil {
			if err := m.Append(found); err != nil {
				return nil, notFast(ReasonPatch, "%s: %v", p.Source, err)
			}
		}
	}
	before := m.Size()
	if err := plugin.Transform(m); err != nil {
		return nil, notFast(ReasonPatch, "%s: %v", p.Source, err)
	}
	if m.Size() != before {
		return nil, notFast(ReasonPatch, "%s: the patch deletes an object", p.Source)
	}
	for _, r := range m.Resources() {
		if r.IsNilOrEmpty() {
			return nil, notFast(ReasonPatch, "%s: the patch empties an object", p.Source)
		}
	}
	return objs, nil
}

// matchesAnyID is resmap's GetMatchingResourcesByAnyId(id.Equals) for one
// resource.
func matchesAnyID(r *resource.Resource, id resid.ResId) bool {
	if id.Equals(r.CurId()) {
		return true
	}
	for _, prev := range r.PrevIds() {
		if id.Equals(prev) {
			return true
		}
	}
	return false
}

func hasIdentity(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	name, _ := meta["name"].(string)
	return apiVersion != "" && kind != "" && name != ""
}

// toNode is the YAML node of a value made by Value: every scalar tagged
// with its type, so that kustomize's filters (and its JSON conversions)
// read it as the value it is, whatever its text. Map keys are sorted.
func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, 2*len(v))}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := toNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, c)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, 0, len(v))}
		for _, e := range v {
			c, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case string:
		return scalar("!!str", v), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(v)), nil
	case int64:
		return scalar("!!int", strconv.FormatInt(v, 10)), nil
	case float64:
		return scalar("!!float", strconv.FormatFloat(v, 'g', -1, 64)), nil
	case nil:
		return scalar("!!null", "null"), nil
	}
	return nil, fmt.Errorf("value of type %T", v)
}

func scalar(tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" {
		// Quoted, as a string that reads as another type must be when
		// kustomize writes it; kustomize's filters go by the tag.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

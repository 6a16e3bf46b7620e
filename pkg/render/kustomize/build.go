// Package kustomize builds a kustomization tree with kustomize (krusty),
// confined and checked: every file is read through the YAML guard and as
// the fast path reads it, every intent decoded strictly as written, before
// kustomize merges anything, and kustomize's errors are rewritten in the
// repository's terms.
//
// It runs with plugins disabled (no exec or container KRM functions, no
// Helm), with root-only loading, under a global mutex (kustomize keeps
// global state) and with its panics turned into errors.
package kustomize

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/parallel"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// Annotations kustomize adds for origin tracking, stripped from the output.
const (
	originAnnotation          = "config.kubernetes.io/origin"
	transformationsAnnotation = "alpha.config.kubernetes.io/transformations"
)

// Builder runs kustomize on a kustomization tree that the fast path cannot
// build.
type Builder struct {
	// FS is the build's file system: kustomize reads through it.
	FS *rootfs.Confined
	// Lines finds the document lines of the intents it builds.
	Lines *intent.FileLines
	// Workers bounds the goroutines that check files before the build; 0
	// or 1 checks them one after the other.
	Workers int
	// Parsed are the resource files an earlier build read and checked (by
	// source), which Check reuses while their content hash is unchanged;
	// nil without a cache. NextParsed is set by Check when Parsed is not
	// nil and the fast path can build the tree: the files, for the next
	// build.
	Parsed     map[string]fastpath.ParsedFile
	NextParsed map[string]fastpath.ParsedFile

	// checked is set by Check: Build then skips the checks.
	checked  bool
	declared []fastpath.Object
	// strictDone holds strictRead's findings on the resource files
	// precheck parsed, by file, so that strictRead need not parse them
	// again.
	strictMu   sync.Mutex
	strictDone map[string]strictResult
}

// Check runs the checks Build runs before kustomize (see precheck and
// strictRead) on the tree under top (at dir), and returns what a build of
// it by the fast path needs: the objects of its resource files, one slice
// per file in the order of a depth-first walk of the tree's items, and
// whether every file was read (false when one holds input the fast path
// leaves to kustomize). A later Build of the same tree skips the checks.
func (r *Builder) Check(ctx context.Context, dir string, top *fastpath.Node) (perFile [][]fastpath.Object, complete bool, err error) {
	perFile, complete, err = r.precheck(ctx, top)
	if err != nil {
		return nil, false, prefixEach(fmt.Sprintf("kustomize build %s: ", r.dirRel(dir)), err)
	}
	if err := r.strictRead(ctx, top); err != nil { // every intent as written, before the merge
		return nil, false, err
	}
	r.checked = true
	for _, f := range perFile {
		r.declared = append(r.declared, f...)
	}
	return perFile, complete, nil
}

// Build runs kustomize on dir (the top of the scanned tree top) with
// plugins disabled, root-only loading and origin annotations on, and maps
// each object to its source file. Every file of the tree is checked first
// (see precheck), and kustomize's errors are rewritten in the repository's
// terms (see kustomizeError).
func (r *Builder) Build(ctx context.Context, dir string, top *fastpath.Node) ([]fastpath.Object, error) {
	if !r.checked {
		if _, _, err := r.Check(ctx, dir, top); err != nil {
			return nil, err
		}
	}
	declared := r.declared
	kfile, content, err := r.withOriginAnnotations(dir)
	if err != nil {
		return nil, err
	}
	r.FS.SetOverrides(map[string][]byte{kfile: content})
	defer r.FS.SetOverrides(nil)

	out, err := runKrusty(r.FS, dir)
	if breach := r.FS.FirstBreach(); breach != nil {
		// A file only kustomize read (a component's, a base's patch) broke
		// a limit: say so plainly rather than through kustomize's chain.
		return nil, fmt.Errorf("kustomize build %s: %w", r.dirRel(dir), breach)
	}
	if err != nil {
		return nil, r.kustomizeError(dir, err, declared)
	}
	docs, err := intent.ParseDocuments(out)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: reading its output: %w", r.dirRel(dir), fastpath.OneLineError(err))
	}
	res := make([]fastpath.Object, 0, len(docs))
	for _, d := range docs {
		v, err := fastpath.Value(d, r.FS.MaxDepth())
		if err != nil {
			return nil, r.outputError(dir, d, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			continue
		}
		source, err := r.originSource(dir, obj)
		if err != nil {
			return nil, err
		}
		res = append(res, fastpath.Object{Obj: obj, Source: source})
	}
	// Find the intents' document lines now, so that the Cache keeps them.
	parallel.Do(context.Background(), len(res), r.Workers, func(i int) {
		if strings.HasPrefix(intent.StringField(res[i].Obj, "apiVersion"), v1alpha1.Group+"/") {
			res[i].Line = r.Lines.DocumentLine(res[i].Source, intent.RefOf(res[i].Obj))
		}
	})
	return res, nil
}

func runKrusty(fsys *rootfs.Confined, dir string) (out []byte, err error) {
	defer fastpath.LockKustomize()()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kustomize panicked: %v", p)
		}
	}()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.Reorder = krusty.ReorderOptionNone // the set is sorted afterwards
	m, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// withOriginAnnotations returns dir's kustomization file and its content with
// buildMetadata: [originAnnotations] added, which makes kustomize annotate
// each object with the file that declared it.
func (r *Builder) withOriginAnnotations(dir string) (string, []byte, error) {
	var file string
	for _, name := range fastpath.KustomizationFileNames {
		p := filepath.Join(dir, name)
		if r.FS.Exists(p) && !r.FS.IsDir(p) {
			file = p
			break
		}
	}
	if file == "" {
		return "", nil, fmt.Errorf("%s: no kustomization.yaml, kustomization.yml or Kustomization", r.dirRel(dir))
	}
	b, err := r.FS.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", nil, fmt.Errorf("%s: invalid YAML: %w", r.FS.Rel(file), fastpath.OneLineError(err))
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return "", nil, fmt.Errorf("%s: a kustomization must be a YAML mapping", r.FS.Rel(file))
	}
	var seq *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "buildMetadata" {
			seq = m.Content[i+1]
		}
	}
	if seq == nil && m.Style&yaml.FlowStyle == 0 {
		// Appending a line keeps the rest byte for byte: kustomize reads
		// kustomizations as YAML 1.1, which a re-encoding could change.
		appended := append(append(append([]byte{}, b...), '\n'), "buildMetadata: [originAnnotations]\n"...)
		var check yaml.Node
		if yaml.Unmarshal(appended, &check) == nil && len(check.Content) == 1 &&
			check.Content[0].Kind == yaml.MappingNode && len(check.Content[0].Content) == len(m.Content)+2 {
			last := check.Content[0].Content[len(m.Content)]
			if last.Value == "buildMetadata" {
				return file, appended, nil
			}
		}
	}
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "buildMetadata"}, seq)
	}
	if seq.Kind != yaml.SequenceNode {
		return file, b, nil // kustomize will say what is wrong
	}
	for _, c := range seq.Content {
		if c.Value == types.OriginAnnotations {
			return file, b, nil
		}
	}
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: types.OriginAnnotations})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", nil, err
	}
	return file, out, nil
}

// originSource reads and strips kustomize's origin annotations and returns
// the repo-relative file that declared obj (for a remote base, its URL and
// path), or the kustomization that generated it.
func (r *Builder) originSource(dir string, obj map[string]any) (string, error) {
	meta, _ := obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	raw, _ := annotations[originAnnotation].(string)
	delete(annotations, originAnnotation)
	delete(annotations, transformationsAnnotation)
	if annotations != nil && len(annotations) == 0 {
		delete(meta, "annotations")
	}
	var origin struct {
		Path         string `yaml:"path"`
		Repo         string `yaml:"repo"`
		Ref          string `yaml:"ref"`
		ConfiguredIn string `yaml:"configuredIn"`
	}
	if err := yaml.Unmarshal([]byte(raw), &origin); err != nil {
		return "", fmt.Errorf("reading kustomize origin of %s: %w", fastpath.ObjectName(obj), err)
	}
	p := origin.Path
	if p == "" {
		p = origin.ConfiguredIn
	}
	if origin.Repo != "" {
		s := origin.Repo + "//" + p
		if origin.Ref != "" {
			s += "?ref=" + origin.Ref
		}
		return s, nil
	}
	if p == "" {
		return r.dirRel(dir), nil
	}
	return path.Clean(path.Join(r.dirRel(dir), filepath.ToSlash(p))), nil
}

// dirRel is dir relative to the repository root, "." for the root itself.
func (r *Builder) dirRel(dir string) string {
	return r.FS.Rel(dir)
}

// outputError describes a document of kustomize's output that cannot be
// read, naming the file that declared it (from its origin annotation) and
// the field, without the line, which is one of kustomize's output.
func (r *Builder) outputError(dir string, doc *yaml.Node, err error) error {
	source := r.dirRel(dir)
	if p := originPath(doc); p != "" {
		source = path.Clean(path.Join(source, p))
	}
	var ve *fastpath.ValueError
	if errors.As(err, &ve) {
		if len(ve.Path) == 0 {
			return fmt.Errorf("%s: %s (as kustomize built it)", source, ve.Msg)
		}
		return fmt.Errorf("%s: %s: %s (as kustomize built it)", source, rootfs.ShortPath(ve.Path), ve.Msg)
	}
	return fmt.Errorf("kustomize build %s: %s: its output cannot be read: %s", r.dirRel(dir), source, strings.TrimPrefix(fastpath.OneLineError(err).Error(), fastpath.ErrExotic.Error()+": "))
}

// originPath is the path of the origin annotation kustomize put on doc.
func originPath(doc *yaml.Node) string {
	var obj struct {
		Metadata struct {
			Annotations map[string]any `yaml:"annotations"`
		} `yaml:"metadata"`
	}
	if doc.Decode(&obj) != nil {
		return ""
	}
	raw, _ := obj.Metadata.Annotations[originAnnotation].(string)
	var origin struct {
		Path string `yaml:"path"`
	}
	if yaml.Unmarshal([]byte(raw), &origin) != nil {
		return ""
	}
	return filepath.ToSlash(origin.Path)
}

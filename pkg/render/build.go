package render

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
)

// built is one object out of the kustomize stage and where it came from.
type built struct {
	obj    map[string]any
	source string // repo-relative file that declared it
	line   int    // 1-based line of its document in source, 0 when unknown
}

// Annotations kustomize adds for origin tracking, stripped from the output.
const (
	originAnnotation          = "config.kubernetes.io/origin"
	transformationsAnnotation = "alpha.config.kubernetes.io/transformations"
)

// errNotFast says the fast path cannot stand in for kustomize on this input.
var errNotFast = errors.New("not for the fast path")

// fastBuild produces what `kustomize build` would for a plain tree (see
// kustNode.plain) without kustomize: the documents of the resource files in
// kustomize's depth-first order. Duplicates are refused as kustomize refuses
// them (same group, version, kind, name and effective namespace). It returns
// errNotFast for input kustomize might treat differently (List kinds,
// kustomize's own annotations, YAML aliases, merge keys, tags, timestamps).
func (r *renderer) fastBuild(ctx context.Context, top *kustNode) ([]built, error) {
	var files []kustItem
	var walk func(n *kustNode)
	walk = func(n *kustNode) {
		for _, it := range n.items {
			if it.sub != nil {
				walk(it.sub)
			} else {
				files = append(files, it)
			}
		}
	}
	walk(top)

	perFile := make([][]built, len(files))
	errs := make([]error, len(files))
	var sums [][sha256.Size]byte
	if r.parsed != nil {
		sums = make([][sha256.Size]byte, len(files))
	}
	parallel(ctx, len(files), r.workers, func(i int) {
		var sum *[sha256.Size]byte
		if sums != nil {
			sum = &sums[i]
		}
		perFile[i], errs[i] = r.readResourceFile(files[i], sum)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var limits []error
	for _, err := range errs {
		var le *limitError
		if errors.As(err, &le) {
			limits = append(limits, err)
		}
	}
	if len(limits) > 0 {
		return nil, joinUnique(limits) // before kustomize could expand anything
	}
	for _, err := range errs {
		if errors.Is(err, errNotFast) {
			return nil, errNotFast
		}
	}
	if err := joinUnique(errs); err != nil {
		return nil, err
	}

	if r.parsed != nil {
		next := make(map[string]parsedFile, len(files))
		for i, f := range files {
			source := f.source
			if prev, ok := r.parsed[source]; ok && prev.sum == sums[i] {
				next[source] = prev
			} else if ps, ok := pack(perFile[i]); ok {
				next[source] = parsedFile{sum: sums[i], objs: ps}
			}
		}
		r.nextParsed = next
	}

	n := 0
	for _, f := range perFile {
		n += len(f)
	}
	out := make([]built, 0, n)
	seen := make(map[resid.ResId]string, n)
	for _, f := range perFile {
		for _, b := range f {
			id := residOf(b.obj)
			if first, dup := seen[id]; dup {
				return nil, fmt.Errorf("%s: %s is declared twice, also in %s (kustomize: may not add resource with an already registered id)",
					b.source, objectName(b.obj), first)
			}
			seen[id] = b.source
			out = append(out, b)
		}
	}
	return out, nil
}

// joinUnique joins the errors, each message once: a file listed twice, or
// a render-wide limit every later file runs into, is reported once.
func joinUnique(errs []error) error {
	var out []error
	seen := map[string]bool{}
	for _, err := range errs {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

// residOf is kustomize's identity of a resource, with the namespace made
// effective ("" and "default" are the same) so that equal IDs are duplicates.
// Kustomize takes kinds it does not know (the Istio and intent kinds) as
// namespaced; for its built-in cluster-scoped kinds, which a repository may
// not hold anyway, it would also ignore the namespace.
func residOf(obj map[string]any) resid.ResId {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "", apiVersion
	}
	id := resid.NewResIdWithNamespace(resid.NewGvk(group, version, kind), name, ns)
	if ns == "" {
		id.Namespace = resid.DefaultNamespace
	}
	return id
}

// readResourceFile reads and parses one resource file of the fast path.
// With a Cache (sum not nil), it stores the content's hash in sum and takes
// the objects of a file parsed before with that content from the cache.
func (r *renderer) readResourceFile(item kustItem, sum *[sha256.Size]byte) ([]built, error) {
	source := item.source
	b, err := r.fs.readResolved(item.file)
	if err != nil {
		return nil, named(source, err)
	}
	if sum != nil {
		*sum = sha256.Sum256(b)
		if prev, ok := r.parsed[source]; ok && prev.sum == *sum {
			if objs, ok := unpack(prev.objs); ok {
				return objs, nil
			}
		}
	}
	// The nodes are not kept for line look-ups: errors are rare, and a file
	// is parsed again when one needs a line. The guard bounds the file (and
	// the render) before anything expands its aliases (kustomize would).
	docs, err := r.fs.parse(item.file, source, b)
	var le *limitError
	if errors.As(err, &le) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", source, err)
	}
	out := make([]built, 0, len(docs))
	for _, d := range docs {
		if d.Kind == yaml.ScalarNode && d.ShortTag() == "!!null" {
			continue // an empty document, which kustomize skips too
		}
		v, err := r.nodeValue(d)
		if errors.Is(err, errExotic) {
			// Kustomize reads the file, but not deeper than the limit.
			for _, d := range docs {
				if err := r.checkDepth(d); err != nil {
					return nil, errors.New(err.(*valueError).at(source))
				}
			}
			return nil, errNotFast
		}
		var ve *valueError
		if errors.As(err, &ve) {
			return nil, errors.New(ve.at(source))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", source, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s:%d: a resource must be a YAML mapping", source, d.Line)
		}
		if len(obj) == 0 {
			continue
		}
		if kustomizeTreatsSpecially(obj) {
			return nil, errNotFast
		}
		out = append(out, built{obj: obj, source: source, line: d.Line})
	}
	return out, nil
}

// kustomizeTreatsSpecially reports a resource that kustomize would not pass
// through as is: a List it unpacks, or one carrying its annotations (such as
// config.kubernetes.io/local-config, which drops it from the output).
func kustomizeTreatsSpecially(obj map[string]any) bool {
	if kind, _ := obj["kind"].(string); strings.HasSuffix(kind, "List") {
		return true
	}
	meta, _ := obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	for k := range annotations {
		if strings.Contains(k, "kustomize") || strings.Contains(k, "config.kubernetes.io/") || strings.Contains(k, "config.k8s.io/") {
			return true
		}
	}
	return false
}

// krustyMu serialises kustomize builds: kustomize keeps global state (the
// OpenAPI schema in use) and is not safe for concurrent builds.
var krustyMu sync.Mutex

// krustyBuild runs kustomize on dir (the top of the scanned tree top) with
// plugins disabled, root-only loading and origin annotations on, and maps
// each object to its source file. Every file of the tree is checked first
// (see precheck), and kustomize's errors are rewritten in the repository's
// terms (see kustomizeError).
func (r *renderer) krustyBuild(ctx context.Context, dir string, top *kustNode) ([]built, error) {
	declared, err := r.precheck(ctx, top)
	if err != nil {
		return nil, prefixEach(fmt.Sprintf("kustomize build %s: ", r.dirRel(dir)), err)
	}
	if err := r.strictRead(ctx, top); err != nil { // every intent as written, before the merge
		return nil, err
	}
	kfile, content, err := r.withOriginAnnotations(dir)
	if err != nil {
		return nil, err
	}
	r.fs.overrides = map[string][]byte{kfile: content}
	defer func() { r.fs.overrides = nil }()

	out, err := runKrusty(r.fs, dir)
	if breach := r.fs.firstBreach(); breach != nil {
		// A file only kustomize read (a component's, a base's patch) broke
		// a limit: say so plainly rather than through kustomize's chain.
		return nil, fmt.Errorf("kustomize build %s: %w", r.dirRel(dir), breach)
	}
	if err != nil {
		return nil, r.kustomizeError(dir, err, declared)
	}
	docs, err := intent.ParseDocuments(out)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: reading its output: %w", r.dirRel(dir), oneLineError(err))
	}
	res := make([]built, 0, len(docs))
	for _, d := range docs {
		v, err := r.nodeValue(d)
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
		res = append(res, built{obj: obj, source: source})
	}
	// Find the intents' document lines now, so that the Cache keeps them.
	parallel(context.Background(), len(res), r.workers, func(i int) {
		if strings.HasPrefix(str(res[i].obj, "apiVersion"), v1alpha1.Group+"/") {
			res[i].line = r.lines.DocumentLine(res[i].source, refOf(res[i].obj))
		}
	})
	return res, nil
}

func runKrusty(fsys *confinedFS, dir string) (out []byte, err error) {
	krustyMu.Lock()
	defer krustyMu.Unlock()
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
func (r *renderer) withOriginAnnotations(dir string) (string, []byte, error) {
	var file string
	for _, name := range kustomizationFileNames {
		p := filepath.Join(dir, name)
		if r.fs.Exists(p) && !r.fs.IsDir(p) {
			file = p
			break
		}
	}
	if file == "" {
		return "", nil, fmt.Errorf("%s: no kustomization.yaml, kustomization.yml or Kustomization", r.dirRel(dir))
	}
	b, err := r.fs.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", nil, fmt.Errorf("%s: invalid YAML: %w", r.fs.rel(file), err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return "", nil, fmt.Errorf("%s: a kustomization must be a YAML mapping", r.fs.rel(file))
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
func (r *renderer) originSource(dir string, obj map[string]any) (string, error) {
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
		return "", fmt.Errorf("reading kustomize origin of %s: %w", objectName(obj), err)
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
func (r *renderer) dirRel(dir string) string {
	return r.fs.rel(dir)
}

// parallel runs fn(0..n-1) on up to workers goroutines, stopping early when
// ctx is done.
func parallel(ctx context.Context, n, workers int, fn func(i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// outputError describes a document of kustomize's output that cannot be
// read, naming the file that declared it (from its origin annotation) and
// the field, without the line, which is one of kustomize's output.
func (r *renderer) outputError(dir string, doc *yaml.Node, err error) error {
	source := r.dirRel(dir)
	if p := originPath(doc); p != "" {
		source = path.Clean(path.Join(source, p))
	}
	var ve *valueError
	if errors.As(err, &ve) {
		if len(ve.path) == 0 {
			return fmt.Errorf("%s: %s (as kustomize built it)", source, ve.msg)
		}
		return fmt.Errorf("%s: %s: %s (as kustomize built it)", source, shortPath(ve.path), ve.msg)
	}
	return fmt.Errorf("kustomize build %s: %s: its output cannot be read: %s", r.dirRel(dir), source, strings.TrimPrefix(oneLineError(err).Error(), errExotic.Error()+": "))
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

// oneLineError joins the lines of a multi-line error (yaml.v3 lists its
// unmarshal errors one a line).
func oneLineError(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " "))
}

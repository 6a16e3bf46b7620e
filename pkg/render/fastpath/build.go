// Package fastpath builds a kustomization tree that only lists resources
// without kustomize, giving the objects kustomize would: it scans the tree
// (refusing what meshintent does not allow) and reads YAML as kustomize
// leaves it.
//
// Input kustomize might treat otherwise (patches, generators, List kinds,
// kustomize annotations, YAML aliases, merge keys, tags, timestamps) is
// ErrNotFast: the kustomize package builds it.
package fastpath

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/meshintent/meshintent/pkg/render/parallel"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/resid"
)

// ErrNotFast says the fast path cannot stand in for kustomize on this input.
var ErrNotFast = errors.New("not for the fast path")

// Builder builds plain kustomization trees (see Node.Plain) without
// kustomize.
type Builder struct {
	// FS is the build's file system.
	FS *rootfs.Confined
	// Workers bounds the goroutines that parse files; 0 or 1 parses them
	// one after the other.
	Workers int
	// Parsed are the files an earlier build parsed (by source), which the
	// build reuses while their content hash is unchanged; nil without a
	// cache.
	Parsed map[string]ParsedFile
	// NextParsed is set by Build when Parsed is not nil: the files of this
	// build, for the next one.
	NextParsed map[string]ParsedFile

	// inspect sees each file's documents once parsed (see ReadResourceFile).
	inspect func(docs []*yaml.Node)
}

// ReadResourceFile reads and parses one resource file as the fast path
// reads it, so that a kustomize build can refuse in the same words what the
// fast path would; ErrNotFast for input it leaves to kustomize. When
// inspect is not nil it is called with the file's parsed documents, so
// that other checks of the file need not parse it again. With r.Parsed
// (sum not nil) it stores the content's hash in sum and takes the objects
// of a file parsed before with that content from r.Parsed, without
// parsing it or calling inspect.
func (r *Builder) ReadResourceFile(item Item, sum *[sha256.Size]byte, inspect func(docs []*yaml.Node)) ([]Object, error) {
	rr := *r
	rr.inspect = inspect
	return rr.readResourceFile(item, sum)
}

// NextParsedOf is Builder.NextParsed for the files read with sums and
// built into perFile: the entries of prev whose content is unchanged, and
// the others packed.
func NextParsedOf(prev map[string]ParsedFile, files []Item, sums [][sha256.Size]byte, perFile [][]Object) map[string]ParsedFile {
	next := make(map[string]ParsedFile, len(files))
	for i, f := range files {
		source := f.Source
		if p, ok := prev[source]; ok && p.Sum == sums[i] {
			next[source] = p
		} else if ps, ok := Pack(perFile[i]); ok {
			next[source] = ParsedFile{Sum: sums[i], Objs: ps}
		}
	}
	return next
}

// Build produces what `kustomize build` would for a plain tree (see
// Node.plain) without kustomize: the documents of the resource files in
// kustomize's depth-first order. Duplicates are refused as kustomize refuses
// them (same group, version, kind, name and effective namespace). It returns
// ErrNotFast for input kustomize might treat differently (List kinds,
// kustomize's own annotations, YAML aliases, merge keys, tags, timestamps).
func (r *Builder) Build(ctx context.Context, top *Node) ([]Object, error) {
	var files []Item
	top.Walk(func(it Item) { files = append(files, it) }, nil)

	perFile := make([][]Object, len(files))
	errs := make([]error, len(files))
	var sums [][sha256.Size]byte
	if r.Parsed != nil {
		sums = make([][sha256.Size]byte, len(files))
	}
	parallel.Do(ctx, len(files), r.Workers, func(i int) {
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
		var le *rootfs.LimitError
		if errors.As(err, &le) {
			limits = append(limits, err)
		}
	}
	if len(limits) > 0 {
		return nil, JoinUnique(limits) // before kustomize could expand anything
	}
	for _, err := range errs {
		if errors.Is(err, ErrNotFast) {
			return nil, err
		}
	}
	if err := JoinUnique(errs); err != nil {
		return nil, err
	}

	if r.Parsed != nil {
		r.NextParsed = NextParsedOf(r.Parsed, files, sums, perFile)
	}

	n := 0
	for _, f := range perFile {
		n += len(f)
	}
	out := make([]Object, 0, n)
	seen := make(map[resid.ResId]string, n)
	for _, f := range perFile {
		for _, b := range f {
			id := ResID(b.Obj)
			if first, dup := seen[id]; dup {
				return nil, fmt.Errorf("%s: %s is declared twice, also in %s (kustomize: may not add resource with an already registered id)",
					b.Source, ObjectName(b.Obj), first)
			}
			seen[id] = b.Source
			out = append(out, b)
		}
	}
	return out, nil
}

// readResourceFile reads and parses one resource file of the fast path.
// With a Cache (sum not nil), it stores the content's hash in sum and takes
// the objects of a file parsed before with that content from the cache.
func (r *Builder) readResourceFile(item Item, sum *[sha256.Size]byte) ([]Object, error) {
	source := item.Source
	b, err := r.FS.ReadResolved(item.File)
	if err != nil {
		return nil, rootfs.Named(source, err)
	}
	if sum != nil {
		*sum = sha256.Sum256(b)
		if prev, ok := r.Parsed[source]; ok && prev.Sum == *sum {
			if objs, ok := Unpack(prev.Objs); ok {
				return objs, nil
			}
		}
	}
	// The nodes are not kept for line look-ups: errors are rare, and a file
	// is parsed again when one needs a line. The guard bounds the file (and
	// the render) before anything expands its aliases (kustomize would).
	docs, err := r.FS.Parse(item.File, source, b)
	var le *rootfs.LimitError
	if errors.As(err, &le) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", source, OneLineError(err))
	}
	if r.inspect != nil {
		r.inspect(docs)
	}
	out := make([]Object, 0, len(docs))
	for _, d := range docs {
		if d.Kind == yaml.ScalarNode && d.ShortTag() == "!!null" {
			continue // an empty document, which kustomize skips too
		}
		v, err := Value(d, r.FS.MaxDepth())
		if errors.Is(err, ErrExotic) {
			// Kustomize reads the file, but not deeper than the limit.
			for _, d := range docs {
				if err := CheckDepth(d, r.FS.MaxDepth()); err != nil {
					var ve *ValueError
					if !errors.As(err, &ve) {
						return nil, err
					}
					return nil, errors.New(ve.At(source))
				}
			}
			return nil, notFast(ReasonResourceYAML, "%s: %v", source, err)
		}
		var ve *ValueError
		if errors.As(err, &ve) {
			return nil, errors.New(ve.At(source))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", source, OneLineError(err))
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s:%d: a resource must be a YAML mapping", source, d.Line)
		}
		if len(obj) == 0 {
			continue
		}
		if kustomizeTreatsSpecially(obj) {
			return nil, notFast(ReasonResource, "%s:%d: %s", source, d.Line, ObjectName(obj))
		}
		out = append(out, Object{Obj: obj, Source: source, Line: d.Line})
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

// JoinUnique joins the errors, each message once: a file listed twice, or
// a render-wide limit every later file runs into, is reported once.
func JoinUnique(errs []error) error {
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

// ResID is kustomize's identity of a resource, with the namespace made
// effective ("" and "default" are the same) so that equal IDs are duplicates.
// Kustomize takes kinds it does not know (the Istio and intent kinds) as
// namespaced; for its built-in cluster-scoped kinds, which a repository may
// not hold anyway, it would also ignore the namespace.
func ResID(obj map[string]any) resid.ResId {
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

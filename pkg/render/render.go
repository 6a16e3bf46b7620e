// Package render turns a repository of intents and Istio resources into the
// objects to apply: it builds the kustomization (by the fast path or with
// kustomize), checks every object, decodes the intents strictly and has
// them expanded into Istio objects.
//
// The work is split by job: pkg/render/rootfs is the root-confined file
// system every file is read through, pkg/render/fastpath scans the
// kustomization tree and builds plain ones, pkg/render/kustomize builds the
// others with kustomize, and pkg/expand turns intents into objects. This
// package holds the entry point (Render, Options, Result), the Cache of the
// build stage, the source map of a result (Result.Locate) and the checks of
// what may be passed through (Allowed, names, collisions).
package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/expand"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/kustomize"
	"github.com/meshintent/meshintent/pkg/render/parallel"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// Default limits on every file a render reads, checked before kustomize
// sees it (Options.Limits sets them; see yamlguard.Limits for the others):
// kustomize copies deep structures over and over (10k nested maps take it
// half a minute, under its global lock) and its errors then quote the whole
// object. Istio objects and intents never nest beyond a dozen levels.
const (
	// MaxFileSize is the largest file a render reads by default: 4 MiB,
	// more than twice the largest object the API server stores.
	MaxFileSize = yamlguard.DefaultMaxFileSize
	// MaxDepth is how deeply maps and lists may nest in a YAML document,
	// by default.
	MaxDepth = yamlguard.DefaultMaxDepth
)

// Limits bound the YAML a render reads: see yamlguard.Limits.
type Limits = yamlguard.Limits

// Options says what to render.
type Options struct {
	// Root is the repository's root directory. Nothing outside it is read:
	// kustomization paths and symlinks leading out are refused.
	Root string
	// Path is the directory to build, relative to Root ("" or "." for Root
	// itself); it holds a kustomization.yaml (or .yml, or Kustomization).
	Path string
	// AllowRemoteBases lets kustomizations name remote bases and files (Git
	// or HTTP URLs), which kustomize then fetches. Off by default: a remote
	// reference is an error naming the kustomization file.
	AllowRemoteBases bool
	// Workers bounds the goroutines that parse files and expand intents;
	// 0 means GOMAXPROCS.
	Workers int
	// Cache, when set, keeps the kustomize stage of earlier renders and
	// reuses it while the files that stage read are unchanged.
	Cache *Cache
	// Limits bound the YAML the render reads, every file of the fast path
	// and of kustomize alike: file and render size, documents, nodes,
	// nesting depth and alias expansion. A zero field takes its default
	// (see yamlguard.DefaultLimits). A breach is an error naming the file,
	// the line and the limit, found before anything expands the file.
	Limits Limits
}

// Result is a rendered repository.
type Result struct {
	// Objects are the objects to apply, sorted (manifest.Set.Sort): those
	// generated from intents and the Istio objects passed through. They are
	// the caller's to change: nothing else, a Cache included, refers to
	// them.
	Objects manifest.Set
	// Intents are the decoded intents, sorted by ID.
	Intents []intent.Document
	// Kustomized is true when the build took kustomize's semantics beyond
	// listing resources: kustomize built the path (see Fallback), or the
	// fast path applied the tree's transformers with kustomize's own
	// plugins. It is false for a tree of kustomizations that only list
	// resources, which the fast path read, and when the cache had the build.
	Kustomized bool
	// Fallback says why kustomize built the path rather than the fast path,
	// in a few words from a fixed vocabulary fit for a metric label (such as
	// "kustomization field configMapGenerator", "kind with field specs",
	// "resource YAML", "patch"); "" when Kustomized is false.
	Fallback string
	// FallbackDetail names the file and what in it sent the build to
	// kustomize, for a log line; "" when Kustomized is false.
	FallbackDetail string

	// sources locates fields in the repository's files (see Locate).
	sources *sources
}

// Render builds opts.Path with kustomize semantics, checks every object,
// expands the intents (see expand.Expand) and passes the allowed Istio objects
// through (see Allowed), labelled app.kubernetes.io/managed-by=meshintent and
// annotated with their source file.
//
// Kustomize sees the disk read-only and confined to Root: every path is
// checked once symlinks are resolved, so an overlay may name ../../base but
// nothing outside the repository. It runs under a global mutex (kustomize
// keeps global state), with its panics turned into errors, with plugins
// disabled (no exec or container KRM functions, no Helm), with
// LoadRestrictionsRootOnly (a kustomization's own files, such as patches, lie
// in or below its directory) and with origin annotations, which give every
// object its repo-relative source file and are then removed.
//
// When every kustomization of the tree only lists resources (no patches,
// transformers, generators, namespace...), a fast path reads and parses the
// files itself, in parallel, and gives the objects kustomize would (numbers
// normalised as its JSON round trip does, duplicates refused by kustomize's
// rule); input it might treat otherwise (List kinds, kustomize annotations,
// YAML aliases, merge keys, tags, timestamps) goes to kustomize.
//
// Before building, the kustomization tree is scanned and the first remote
// reference (when not allowed), absolute path, path leading outside Root
// (including a symlink of a Git tree that pkg/source made unfollowable),
// missing resource, unreadable kustomization or Helm chart is returned,
// naming the kustomization file. Every file a build reads is then checked
// before kustomize sees it, and before anything expands its aliases, under
// opts.Limits (see yamlguard.Budget.Parse): at most MaxFileSize bytes by
// default, a bounded number of bytes, documents, nodes and alias-expanded
// nodes over the whole render, maps and lists nested at most MaxDepth deep
// (aliases expanded), numbers that fit in 64 bits, and resources
// read as the fast path reads them, so that kustomize's errors (rewritten
// to name repo-relative files, see kustomizeError) are the exception.
//
// After building, every problem of the objects is reported at once, joined:
// objects without apiVersion, kind or name, kinds not allowed, Istio objects
// without namespace, intent errors (an intent.ErrorList, found with
// errors.As; when overlays built the intent, an error names the patch that
// wrote the failing value, or the declaring file "after overlays"), and
// objects that collide with each other (generated or passed through) or two
// intents for one service. Every error is one line: text from the
// repository that holds a line break is quoted. The output is sorted and
// byte-for-byte deterministic.
func Render(ctx context.Context, opts Options) (*Result, error) {
	r, dir, err := newRenderer(opts)
	if err != nil {
		return nil, err
	}

	// Scan the kustomization tree: refuse what is not allowed and find out
	// whether the fast path can stand in for kustomize.
	if opts.Cache != nil {
		r.fs.StartRecording() // the scan's reads are part of what the build depends on
		defer r.fs.StopRecording()
	}
	top, err := fastpath.Scan(r.fs, dir, opts.AllowRemoteBases)
	if err != nil {
		return nil, err
	}

	// Build: from the cache, by the fast path, or with kustomize.
	objs, fallback, cached, err := r.build(ctx, dir, top, opts)
	if err != nil {
		return nil, err
	}
	kustomized := !cached && (!top.Plain || fallback != nil)
	if fallback != nil {
		logr.FromContextOrDiscard(ctx).Info("kustomize built the repository: the fast path cannot", "path", r.fs.Rel(dir), "reason", fallback.Reason, "detail", fallback.Detail)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Sort the objects into intents and pass-through ones.
	var errs []error
	var intents, passthrough []fastpath.Object
	for _, b := range objs {
		if err := r.checkObject(b); err != nil {
			errs = append(errs, err)
			continue
		}
		apiVersion, kind := intent.StringField(b.Obj, "apiVersion"), intent.StringField(b.Obj, "kind")
		switch {
		case apiVersion == v1alpha1.APIVersion || strings.HasPrefix(apiVersion, v1alpha1.Group+"/"):
			intents = append(intents, b)
		case Allowed(apiVersion, kind):
			if ns := intent.StringField(intent.Metadata(b.Obj), "namespace"); ns == "" {
				errs = append(errs, fmt.Errorf("%s: %s has no metadata.namespace", r.documentWhere(b), fastpath.ObjectName(b.Obj)))
				continue
			}
			passthrough = append(passthrough, b)
		default:
			errs = append(errs, fmt.Errorf("%s: %s: kind %s (%s) is not allowed: a mesh repository holds intents and Istio networking, security and telemetry resources only",
				b.Source, fastpath.ObjectName(b.Obj), fastpath.OneLine(kind), fastpath.OneLine(apiVersion)))
		}
	}

	// Decode and expand the intents, in parallel.
	docs := make([]intent.Document, len(intents))
	generated := make([]manifest.Set, len(intents))
	decodeErrs := make([]error, len(intents))
	dec := intent.Decoder{Lines: r.lines}
	loc := &locator{lines: r.lines, fs: r.fs}
	if !top.Plain {
		// Overlays may have changed the intents: name the patch that wrote
		// a failing value rather than the base's line for that field.
		loc.patches = treePatches(top)
		dec.Lines = loc
	}
	parallel.Do(ctx, len(intents), r.workers, func(i int) {
		b := intents[i]
		doc, err := dec.Decode(b.Obj, b.Source, b.Line)
		if err != nil {
			decodeErrs[i] = err
			return
		}
		docs[i] = doc
		generated[i] = expand.Expand(doc)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fieldErrs intent.ErrorList
	for _, err := range decodeErrs {
		var list intent.ErrorList
		if errors.As(err, &list) {
			fieldErrs = append(fieldErrs, list...)
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	if len(fieldErrs) > 0 {
		fieldErrs.Sort()
		errs = append(errs, fieldErrs)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Put the objects together, refusing collisions.
	res := &Result{Intents: docs, Kustomized: kustomized, sources: newSources(loc)}
	if fallback != nil {
		res.Fallback, res.FallbackDetail = fallback.Reason, fallback.Detail
	}
	n := len(passthrough)
	for _, g := range generated {
		n += len(g)
	}
	res.Objects = make(manifest.Set, 0, n)
	for _, g := range generated {
		res.Objects = append(res.Objects, g...)
	}
	for _, b := range passthrough {
		res.Objects = append(res.Objects, passThrough(b))
	}
	if err := checkCollisions(res.Objects, docs); err != nil {
		return nil, err
	}
	res.Objects.Sort()
	sort.Slice(res.Intents, func(i, j int) bool { return res.Intents[i].ID() < res.Intents[j].ID() })
	return res, nil
}

// renderer holds what the stages of one render share.
type renderer struct {
	fs      *rootfs.Confined
	lines   *intent.FileLines
	workers int
}

func newRenderer(opts Options) (*renderer, string, error) {
	if opts.Root == "" {
		return nil, "", errors.New("render: no repository root")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, "", fmt.Errorf("render: %w", err)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, "", fmt.Errorf("render: repository root: %w", err)
	}
	if filepath.IsAbs(opts.Path) {
		return nil, "", fmt.Errorf("render: path %q must be relative to the repository root", opts.Path)
	}
	if err := opts.Limits.Validate(); err != nil {
		return nil, "", fmt.Errorf("render: %w", err)
	}
	fsys := rootfs.NewConfined(root, opts.AllowRemoteBases, yamlguard.NewBudget(opts.Limits))
	dir := filepath.Join(root, opts.Path)
	if !rootfs.Within(root, dir) {
		return nil, "", fmt.Errorf("render: path %q is outside the repository", opts.Path)
	}
	if dir, err = fsys.Resolve(dir); err != nil {
		return nil, "", fmt.Errorf("render: path %q: %w", opts.Path, err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("render: path %q is not a directory of the repository", opts.Path)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r := &renderer{fs: fsys, workers: workers}
	r.lines = intent.NewFileLines(func(source string) ([]byte, error) {
		return fsys.ReadFile(filepath.Join(root, filepath.FromSlash(source)))
	})
	return r, dir, nil
}

// build runs the kustomize stage: from the cache, by the fast path, or with
// kustomize. It returns why kustomize built it, nil when it did not.
//
// A plain tree is read by fastpath.Builder. A tree whose kustomizations
// use only the transformers the fast path applies (Node.Fast) is checked as
// kustomize's build checks it (kustomize.Builder.Check: the files, and the
// intents as written) and then transformed by fastpath.Transform, which
// runs kustomize's own plugins on one object at a time. Whatever either
// leaves to kustomize (fastpath.ErrNotFast) is built by kustomize, whole.
func (r *renderer) build(ctx context.Context, dir string, top *fastpath.Node, opts Options) (objs []fastpath.Object, fallback *fastpath.NotFastError, cached bool, err error) {
	key := cacheKey{root: r.fs.Root(), dir: dir, remote: opts.AllowRemoteBases}
	fast := &fastpath.Builder{FS: r.fs, Workers: r.workers}
	if opts.Cache != nil {
		objs, parsed, ok := opts.Cache.get(key, r.fs)
		if ok {
			return objs, nil, true, nil
		}
		fast.Parsed = parsed
		if fast.Parsed == nil {
			fast.Parsed = map[string]fastpath.ParsedFile{}
		}
	}
	k := &kustomize.Builder{FS: r.fs, Lines: r.lines, Workers: r.workers, Parsed: fast.Parsed}
	switch {
	case top.Plain:
		objs, err = fast.Build(ctx, top)
	case top.Fast:
		perFile, complete, cerr := k.Check(ctx, dir, top)
		switch {
		case cerr != nil:
			return nil, nil, false, cerr
		case !complete:
			err = &fastpath.NotFastError{Reason: fastpath.ReasonResourceYAML, Detail: "a resource file holds YAML left to kustomize"}
		default:
			objs, err = fastpath.Transform(ctx, r.fs, top, perFile)
		}
	default:
		err = &fastpath.NotFastError{Reason: top.Reason, Detail: top.Detail}
	}
	if errors.Is(err, fastpath.ErrNotFast) {
		if !errors.As(err, &fallback) {
			fallback = &fastpath.NotFastError{Reason: fastpath.ReasonResourceYAML, Detail: err.Error()}
		}
		objs, err = k.Build(ctx, dir, top)
	}
	if err != nil {
		return nil, nil, false, err
	}
	if opts.Cache != nil {
		next := fast.NextParsed
		if fallback == nil && top.Fast && !top.Plain {
			next = k.NextParsed // the files the transforms started from
		}
		opts.Cache.put(key, r.fs.Recorded(), objs, next)
		r.fs.StopRecording()
	}
	return objs, fallback, false, nil
}

// checkIdentity requires apiVersion, kind and metadata.name.
func checkIdentity(b fastpath.Object) error {
	var missing []string
	if intent.StringField(b.Obj, "apiVersion") == "" {
		missing = append(missing, "apiVersion")
	}
	if intent.StringField(b.Obj, "kind") == "" {
		missing = append(missing, "kind")
	}
	if intent.StringField(intent.Metadata(b.Obj), "name") == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) == 0 {
		return nil
	}
	where := b.Source
	if b.Line > 0 {
		where = fmt.Sprintf("%s:%d", b.Source, b.Line)
	}
	return fmt.Errorf("%s: an object has no %s", where, strings.Join(missing, ", "))
}

// documentWhere is b's file and the line of its document there, file:line,
// or the file alone when the line is unknown. Kustomize's output carries no
// lines for pass-through objects: the document is then looked up by the
// object's kind and name (see intent.FindDocument).
func (r *renderer) documentWhere(b fastpath.Object) string {
	line := b.Line
	if line == 0 && r.lines != nil {
		line = r.lines.DocumentLine(b.Source, intent.RefOf(b.Obj))
	}
	if line > 0 {
		return fmt.Sprintf("%s:%d", b.Source, line)
	}
	return b.Source
}

// passThrough labels and annotates an Istio object from the repository.
func passThrough(b fastpath.Object) manifest.Object {
	m := intent.Metadata(b.Obj)
	labels, ok := m["labels"].(map[string]any)
	if !ok {
		labels = map[string]any{}
		m["labels"] = labels
	}
	labels[manifest.ManagedByLabel] = manifest.ManagedByValue
	annotations, ok := m["annotations"].(map[string]any)
	if !ok {
		annotations = map[string]any{}
		m["annotations"] = annotations
	}
	annotations[manifest.SourceAnnotation] = b.Source
	delete(annotations, manifest.IntentAnnotation) // only generated objects have an intent
	return manifest.Object{Unstructured: &unstructured.Unstructured{Object: b.Obj}, Source: b.Source}
}

// checkCollisions refuses two objects with the same kind, namespace and name,
// and two ServiceIntents for the same service.
func checkCollisions(objs manifest.Set, docs []intent.Document) error {
	var errs []error
	seen := make(map[string]manifest.Object, len(objs))
	for _, o := range objs {
		id := o.ID()
		first, dup := seen[id]
		if !dup {
			seen[id] = o
			continue
		}
		errs = append(errs, fmt.Errorf("%s is %s and %s", fastpath.OneLine(id), origin(first), origin(o)))
	}
	services := make(map[string]intent.Document, len(docs))
	for _, d := range docs {
		if d.ServiceIntent == nil {
			continue
		}
		svc := d.ServiceIntent.Namespace + "/" + d.ServiceIntent.ServiceName()
		if first, dup := services[svc]; dup {
			errs = append(errs, fmt.Errorf("service %s is described by both %s (%s) and %s (%s)", fastpath.OneLine(svc), fastpath.OneLine(first.ID()), first.Source, fastpath.OneLine(d.ID()), d.Source))
			continue
		}
		services[svc] = d
	}
	return errors.Join(errs...)
}

func origin(o manifest.Object) string {
	if o.Intent != "" {
		return fmt.Sprintf("generated from %s (%s)", fastpath.OneLine(o.Intent), o.Source)
	}
	return "declared in " + o.Source
}

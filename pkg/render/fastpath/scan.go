package fastpath

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// KustomizationFileNames are the names kustomize looks for, in its order.
var KustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Node is one kustomization directory as the scan found it.
type Node struct {
	Dir    string // absolute, symlinks resolved
	SrcDir string // repo-relative, as the kustomizations name it
	File   string // absolute path of its kustomization file
	// plain is true when the kustomization only lists resources (files in or
	// below dir, or directories whose kustomizations are plain too), so that
	// kustomize's output is exactly those resources' documents.
	Plain bool
	// items are the local resources, bases and components in kustomize's
	// order (for every node: the fast path builds a plain tree from them,
	// and the checks before kustomize read them).
	Items []Item
	// files are the other local files the kustomization names (patches,
	// transformer configurations, generator inputs...), for the checks
	// before kustomize.
	Files []Other
	// patches are the patches of the kustomization, in order.
	Patches []Patch

	// Fast is true when the fast path can build the tree under this
	// kustomization: it is plain, or its kustomizations only list
	// resources and use the transformers of Transforms. Otherwise Reason
	// says why not, in a few words from a fixed vocabulary (such as
	// "kustomization field configMapGenerator"), and Detail names the file.
	Fast   bool
	Reason string
	Detail string
	// Transforms are the kustomization's transformers, nil when it has
	// none (or is not Fast).
	Transforms *Transforms
}

// notFast marks n as neither plain nor fast, keeping the first reason.
func (n *Node) notFast(reason, detail string) {
	n.Plain = false
	if n.Fast {
		n.Fast, n.Reason, n.Detail = false, reason, detail
	}
}

// Walk visits the tree under n in kustomize's depth-first order: it calls
// resource (when not nil) for each item that is not a kustomization, and
// after (when not nil) for each kustomization once its items are visited.
func (n *Node) Walk(resource func(Item), after func(*Node)) {
	for _, it := range n.Items {
		switch {
		case it.Sub != nil:
			it.Sub.Walk(resource, after)
		case resource != nil:
			resource(it)
		}
	}
	if after != nil {
		after(n)
	}
}

// Other is a file a kustomization names besides its resources.
type Other struct {
	File   string // absolute path, symlinks resolved
	Source string // repo-relative, as written
	Field  string // the kustomization field naming it
	YAML   bool   // read as YAML by kustomize (not generator data)
}

// Patch is one patch of a kustomization: a file, or an inline patch held
// by the kustomization file itself.
type Patch struct {
	Source string         // repo-relative file holding the patch
	File   string         // absolute path of a patch file, "" for an inline patch
	Inline string         // the inline patch
	Line   int            // line of an inline patch in the kustomization file
	Target map[string]any // the patch's target selector, if any
}

// Item is one resources entry of a plain kustomization: a file or a base.
type Item struct {
	File   string // absolute path of a resource file, symlinks resolved, or ""
	Source string // its repo-relative path as written (kustomize's origin)
	Sub    *Node
}

// Scan walks the kustomization tree of dir (absolute, symlinks resolved)
// before kustomize does: it refuses what meshintent does not allow (remote
// bases unless allowRemote, absolute paths, paths leading out of the
// repository, missing resources, Helm) with an error naming the
// kustomization file, and finds out whether the fast path can stand in for
// kustomize (Node.Plain).
func Scan(fsys *rootfs.Confined, dir string, allowRemote bool) (*Node, error) {
	s := &scanner{fs: fsys, allowRemote: allowRemote}
	return s.scan(dir)
}

// scanner walks a kustomization tree before kustomize does, to refuse what
// meshintent does not allow with an error naming the kustomization file
// (remote bases, absolute paths, paths leading out of the repository, missing
// resources) and to find out whether the fast path can stand in for kustomize.
type scanner struct {
	fs          *rootfs.Confined
	allowRemote bool
	visiting    []string // directories being scanned, outermost first
}

// plainKeys are the only kustomization fields the fast path handles.
var plainKeys = map[string]bool{"apiVersion": true, "kind": true, "resources": true}

func (s *scanner) scan(dir string) (*Node, error) {
	return s.scanAs(dir, s.fs.Rel(dir))
}

// scanAs scans dir, which the kustomizations name srcDir (repo-relative,
// symlinks not resolved): sources are named as kustomize's origins name them.
func (s *scanner) scanAs(dir, srcDir string) (*Node, error) {
	n := &Node{Dir: dir, SrcDir: srcDir, Plain: true, Fast: true}
	// One directory listing answers most questions about the entries below
	// without a system call per file.
	listing, err := s.fs.ListDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.dirName(dir), err)
	}
	var found []string
	for _, name := range KustomizationFileNames {
		p := filepath.Join(dir, name)
		switch t, ok := listing[name]; {
		case !ok:
		case t.IsRegular():
			found = append(found, p)
		case t&fs.ModeSymlink != 0:
			st, err := s.fs.Stat(p)
			if err == nil && !st.IsDir() {
				found = append(found, p)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", s.dirName(dir), err)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s: no kustomization.yaml, kustomization.yml or Kustomization", s.dirName(dir))
	case 1:
	default:
		n.notFast("kustomization files", s.dirName(dir)+": more than one kustomization file") // kustomize refuses it, with its own message
	}
	n.File = found[0]
	kfile := s.fs.Rel(n.File)
	b, err := s.fs.ReadFile(n.File) // through the YAML guard
	if err != nil {
		return nil, rootfs.Named(kfile, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, OneLineError(err))
	}
	v, err := value(&doc, 0, s.fs.MaxDepth())
	var ve *ValueError
	if errors.Is(err, ErrExotic) {
		n.notFast("kustomization YAML", kfile+": "+err.Error())
		if err := checkDepth(&doc, 0, s.fs.MaxDepth()); errors.As(err, &ve) {
			return nil, errors.New(ve.At(kfile))
		}
		var m map[string]any
		if err := doc.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, OneLineError(err))
		}
		v = m
	} else if errors.As(err, &ve) {
		return nil, errors.New(ve.At(kfile))
	} else if err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, OneLineError(err))
	}
	k, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("%s: a kustomization must be a YAML mapping", kfile)
	}
	for key := range k {
		if !plainKeys[key] {
			n.Plain = false
			if !transformKeys[key] {
				n.notFast(fieldReason(key), kfile+": "+OneLine(key))
			}
		}
	}
	if err := refuseExec(kfile, &doc, k); err != nil {
		return nil, err
	}
	if av, _ := k["apiVersion"].(string); k["apiVersion"] != nil && av != "kustomize.config.k8s.io/v1beta1" {
		n.notFast("kustomization kind", kfile+": apiVersion")
	}
	if kind, _ := k["kind"].(string); k["kind"] != nil && kind != "Kustomization" {
		n.notFast("kustomization kind", kfile+": kind")
	}

	s.visiting = append(s.visiting, dir)
	defer func() { s.visiting = s.visiting[:len(s.visiting)-1] }()

	for _, field := range []string{"resources", "bases", "components"} {
		entries, ok := k[field].([]any)
		if !ok {
			if k[field] != nil {
				n.notFast(fieldReason(field), kfile+": "+field+" is not a list")
			}
			continue
		}
		for _, e := range entries {
			entry, ok := e.(string)
			if !ok || entry == "" || ambiguous(entry) {
				n.notFast("resource entry", kfile+": "+field) // kustomize has its own words for these
				continue
			}
			item, remote, err := s.resource(n, listing, kfile, field, entry)
			if err != nil {
				return nil, err
			}
			if remote {
				n.notFast("remote resource", kfile+": "+field)
				continue
			}
			if field != "resources" {
				n.notFast(fieldReason(field), kfile+": "+field)
			}
			if item.Sub != nil && !item.Sub.Plain {
				n.Plain = false
				if !item.Sub.Fast {
					n.notFast(item.Sub.Reason, item.Sub.Detail)
				}
			}
			if item.File != "" && !rootfs.Within(dir, item.File) {
				n.notFast("resource outside its kustomization", kfile+": "+OneLine(entry)) // kustomize's root-only loading refuses it
			}
			n.Items = append(n.Items, item)
		}
	}
	if err := s.otherPaths(n, kfile, k); err != nil {
		return nil, err
	}
	n.Patches = s.patchesOf(n, kfile, &doc, k)
	if n.Fast && !n.Plain {
		s.transforms(n, kfile, &doc)
	}
	return n, nil
}

// execFields are kustomization fields that need Helm (an external program
// and the network), which meshintent's kustomize never runs.
var execFields = []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"}

// refuseExec refuses the kustomization fields that need Helm up front, with
// one line naming the file and the field's line (kustomize's own error
// quotes the chart's configuration over several lines).
func refuseExec(kfile string, doc *yaml.Node, k map[string]any) error {
	for _, field := range execFields {
		if _, ok := k[field]; !ok {
			continue
		}
		where := kfile
		if l := intent.NodeLine(doc, intent.P(field)); l > 0 {
			where = fmt.Sprintf("%s:%d", kfile, l)
		}
		return fmt.Errorf("%s: %s: Helm is off: meshintent runs kustomize without Helm, plugins or KRM functions (render the chart and commit its output instead)", where, field)
	}
	return nil
}

// resource checks a resources, bases or components entry and scans a base.
func (s *scanner) resource(n *Node, listing map[string]fs.FileMode, kfile, field, entry string) (item Item, remote bool, err error) {
	abs := filepath.Join(n.Dir, entry)
	t, listed := listing[entry]
	switch {
	case listed && t.IsRegular() && !strings.ContainsAny(entry, `/\`):
		// A plain file of the (resolved) directory: inside the repository.
		return Item{File: abs, Source: path.Join(n.SrcDir, entry)}, false, nil
	case listed && t.IsDir() && entry != "." && entry != ".." && !strings.ContainsAny(entry, `/\`):
		// A plain subdirectory: scanned below.
	default:
		abs, remote, err = s.checkPath(n.Dir, kfile, field, entry, true)
		if err != nil || remote {
			return item, remote, err
		}
		st, err := s.fs.Stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return item, false, fmt.Errorf("%s: %s: %q: no such file or directory", kfile, field, entry)
			}
			return item, false, fmt.Errorf("%s: %s: %q: %w", kfile, field, entry, err)
		}
		if !st.IsDir() {
			return Item{File: abs, Source: path.Join(n.SrcDir, filepath.ToSlash(entry))}, false, nil
		}
	}
	for _, v := range s.visiting {
		if rootfs.Within(abs, v) {
			return item, false, fmt.Errorf("%s: %s: %q contains %s, which is being built: a cycle", kfile, field, entry, s.dirName(v))
		}
	}
	sub, err := s.scanAs(abs, path.Join(n.SrcDir, filepath.ToSlash(entry)))
	if err != nil {
		return item, false, err
	}
	return Item{Sub: sub}, false, nil
}

// checkPath refuses remote references (unless allowed), absolute paths and
// paths that lead out of the repository, and returns the resolved path.
// base says the entry may name a remote kustomization (a Git URL), not just
// a remote file (an HTTP URL).
func (s *scanner) checkPath(dir, kfile, field, entry string, base bool) (abs string, remote bool, err error) {
	if isRemoteFile(entry) || (base && looksLikeGitURL(entry)) {
		if !s.allowRemote {
			return "", true, fmt.Errorf("%s: %s: remote reference %q is not allowed (remote bases are off: allow them only for trusted repositories, with --allow-remote-bases)", kfile, field, entry)
		}
		return "", true, nil
	}
	if filepath.IsAbs(entry) {
		return "", false, fmt.Errorf("%s: %s: absolute path %q is not allowed; use a path relative to the kustomization", kfile, field, entry)
	}
	joined := filepath.Join(dir, entry)
	if !rootfs.Within(s.fs.Root(), joined) {
		return "", false, fmt.Errorf("%s: %s: %q is outside the repository", kfile, field, entry)
	}
	abs, err = s.fs.Resolve(joined)
	if err != nil {
		var pe *fs.PathError
		var el *rootfs.EscapingLinkError
		switch {
		case errors.As(err, &el) && errors.As(err, &pe):
			// A link of a Git tree, which pkg/source made unfollowable.
			return "", false, fmt.Errorf("%s: %s: %q leads outside the repository through a symlink: %s is committed as a link to %q", kfile, field, entry, pe.Path, el.Target)
		case errors.Is(err, rootfs.ErrLinkLeaves):
			return "", false, fmt.Errorf("%s: %s: %q leads outside the repository through a symlink", kfile, field, entry)
		case errors.As(err, &pe):
			err = pe.Err // its path is absolute
		}
		return "", false, fmt.Errorf("%s: %s: %q: %w", kfile, field, entry, err)
	}
	return abs, false, nil
}

// otherPaths checks the file paths of the other kustomization fields.
func (s *scanner) otherPaths(n *Node, kfile string, k map[string]any) error {
	check := func(field string, v any) error {
		p, ok := v.(string)
		if !ok || p == "" || strings.Contains(p, "\n") {
			return nil // not a path: an inline patch or transformer config
		}
		abs, remote, err := s.checkPath(n.Dir, kfile, field, p, false)
		if remote {
			n.notFast("remote resource", kfile+": "+field)
		}
		if err == nil && !remote && field != "helmGlobals" {
			n.Files = append(n.Files, Other{
				File: abs, Source: path.Join(n.SrcDir, filepath.ToSlash(p)), Field: field,
				YAML: field != "configMapGenerator" && field != "secretGenerator",
			})
		}
		return err
	}
	list := func(v any) []any { l, _ := v.([]any); return l }
	for _, field := range []string{"crds", "configurations", "patchesStrategicMerge", "generators", "transformers", "validators"} {
		for _, e := range list(k[field]) {
			if err := check(field, e); err != nil {
				return err
			}
		}
	}
	for _, field := range []string{"patches", "patchesJson6902", "replacements"} {
		for _, e := range list(k[field]) {
			if m, ok := e.(map[string]any); ok {
				if err := check(field, m["path"]); err != nil {
					return err
				}
			}
		}
	}
	if m, ok := k["openapi"].(map[string]any); ok {
		if err := check("openapi", m["path"]); err != nil {
			return err
		}
	}
	if m, ok := k["helmGlobals"].(map[string]any); ok {
		if err := check("helmGlobals", m["chartHome"]); err != nil {
			return err
		}
	}
	for _, field := range []string{"configMapGenerator", "secretGenerator"} {
		for _, e := range list(k[field]) {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			for _, f := range list(m["files"]) {
				if fs, ok := f.(string); ok {
					if _, after, found := strings.Cut(fs, "="); found {
						f = after
					}
				}
				if err := check(field, f); err != nil {
					return err
				}
			}
			for _, f := range list(m["envs"]) {
				if err := check(field, f); err != nil {
					return err
				}
			}
			if err := check(field, m["env"]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *scanner) dirName(dir string) string {
	if r := s.fs.Rel(dir); r != "." {
		return r
	}
	return "the repository root"
}

// isRemoteFile is kustomize's test for a file it would fetch over HTTP.
func isRemoteFile(p string) bool {
	u, err := url.Parse(p)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

var gitUserPrefix = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksLikeGitURL follows kustomize's reading of a base as a Git repository:
// a URL scheme, an SCP-style user@host, or a github.com path; kustomize
// tries it before looking on disk.
func looksLikeGitURL(p string) bool {
	l := strings.ToLower(p)
	l = strings.TrimPrefix(l, "git::")
	return strings.Contains(l, "://") || gitUserPrefix.MatchString(l) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:")
}

// ambiguous is kustomize's check for a segment like "base - .." that YAML
// indentation mistakes produce.
func ambiguous(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part != "" && part != "." && part != ".." && strings.Contains(part, "..") {
			return true
		}
	}
	return false
}

// patchesOf lists the patches of kustomization k (parsed from doc, in kfile)
// in the order kustomize applies them: patches, patchesStrategicMerge, then
// patchesJson6902.
func (s *scanner) patchesOf(n *Node, kfile string, doc *yaml.Node, k map[string]any) []Patch {
	var out []Patch
	fileRef := func(p string) (Patch, bool) {
		if p == "" || strings.Contains(p, "\n") || isRemoteFile(p) || filepath.IsAbs(p) {
			return Patch{}, false
		}
		abs, err := s.fs.Resolve(filepath.Join(n.Dir, p))
		if err != nil {
			return Patch{}, false
		}
		return Patch{Source: path.Join(n.SrcDir, filepath.ToSlash(p)), File: abs}, true
	}
	list := func(v any) []any { l, _ := v.([]any); return l }
	for _, field := range []string{"patches", "patchesStrategicMerge", "patchesJson6902"} {
		for i, e := range list(k[field]) {
			var ref Patch
			var ok bool
			switch e := e.(type) {
			case string: // patchesStrategicMerge: a file or an inline patch
				if ref, ok = fileRef(e); !ok && strings.Contains(e, "\n") {
					ref, ok = Patch{Source: kfile, Inline: e, Line: intent.NodeLine(doc, intent.P(field, i))}, true
				}
			case map[string]any:
				p, _ := e["path"].(string)
				inline, _ := e["patch"].(string)
				if ref, ok = fileRef(p); !ok && inline != "" {
					ref, ok = Patch{Source: kfile, Inline: inline, Line: intent.NodeLine(doc, intent.P(field, i, "patch"))}, true
				}
				ref.Target, _ = e["target"].(map[string]any)
			}
			if ok {
				out = append(out, ref)
			}
		}
	}
	return out
}

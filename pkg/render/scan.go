package render

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
)

// kustomizationFileNames are the names kustomize looks for, in its order.
var kustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustNode is one kustomization directory as the scan found it.
type kustNode struct {
	dir    string // absolute, symlinks resolved
	srcDir string // repo-relative, as the kustomizations name it
	file   string // absolute path of its kustomization file
	// plain is true when the kustomization only lists resources (files in or
	// below dir, or directories whose kustomizations are plain too), so that
	// kustomize's output is exactly those resources' documents.
	plain bool
	items []kustItem // resources in order, for a plain node
}

// kustItem is one resources entry of a plain kustomization: a file or a base.
type kustItem struct {
	file   string // absolute path of a resource file, symlinks resolved, or ""
	source string // its repo-relative path as written (kustomize's origin)
	sub    *kustNode
}

// scanner walks a kustomization tree before kustomize does, to refuse what
// meshintent does not allow with an error naming the kustomization file
// (remote bases, absolute paths, paths leading out of the repository, missing
// resources) and to find out whether the fast path can stand in for kustomize.
type scanner struct {
	fs          *confinedFS
	allowRemote bool
	visiting    []string // directories being scanned, outermost first
}

// plainKeys are the only kustomization fields the fast path handles.
var plainKeys = map[string]bool{"apiVersion": true, "kind": true, "resources": true}

func (s *scanner) scan(dir string) (*kustNode, error) {
	return s.scanAs(dir, s.fs.rel(dir))
}

// scanAs scans dir, which the kustomizations name srcDir (repo-relative,
// symlinks not resolved): sources are named as kustomize's origins name them.
func (s *scanner) scanAs(dir, srcDir string) (*kustNode, error) {
	n := &kustNode{dir: dir, srcDir: srcDir, plain: true}
	// One directory listing answers most questions about the entries below
	// without a system call per file.
	listing, err := s.fs.listDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.dirName(dir), err)
	}
	var found []string
	for _, name := range kustomizationFileNames {
		p := filepath.Join(dir, name)
		switch t, ok := listing[name]; {
		case !ok:
		case t.IsRegular():
			found = append(found, p)
		case t&fs.ModeSymlink != 0:
			st, err := s.fs.stat(p)
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
		n.plain = false // kustomize refuses it, with its own message
	}
	n.file = found[0]
	kfile := s.fs.rel(n.file)
	b, err := s.fs.ReadFile(n.file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kfile, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, err)
	}
	v, err := nodeValue(&doc)
	if errors.Is(err, errExotic) {
		n.plain = false
		var m map[string]any
		if err := doc.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, err)
		}
		v = m
	} else if err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", kfile, err)
	}
	k, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("%s: a kustomization must be a YAML mapping", kfile)
	}
	for key := range k {
		if !plainKeys[key] {
			n.plain = false
		}
	}
	if av, _ := k["apiVersion"].(string); k["apiVersion"] != nil && av != "kustomize.config.k8s.io/v1beta1" {
		n.plain = false
	}
	if kind, _ := k["kind"].(string); k["kind"] != nil && kind != "Kustomization" {
		n.plain = false
	}

	s.visiting = append(s.visiting, dir)
	defer func() { s.visiting = s.visiting[:len(s.visiting)-1] }()

	for _, field := range []string{"resources", "bases", "components"} {
		entries, ok := k[field].([]any)
		if !ok {
			if k[field] != nil {
				n.plain = false
			}
			continue
		}
		for _, e := range entries {
			entry, ok := e.(string)
			if !ok || entry == "" || ambiguous(entry) {
				n.plain = false // kustomize has its own words for these
				continue
			}
			item, remote, err := s.resource(n, listing, kfile, field, entry)
			if err != nil {
				return nil, err
			}
			if remote || field != "resources" {
				n.plain = false
				continue
			}
			if item.sub != nil && !item.sub.plain {
				n.plain = false
			}
			if item.file != "" && !within(dir, item.file) {
				n.plain = false // kustomize's root-only loading refuses it
			}
			n.items = append(n.items, item)
		}
	}
	if err := s.otherPaths(n, kfile, k); err != nil {
		return nil, err
	}
	if !n.plain {
		n.items = nil
	}
	return n, nil
}

// resource checks a resources, bases or components entry and scans a base.
func (s *scanner) resource(n *kustNode, listing map[string]fs.FileMode, kfile, field, entry string) (item kustItem, remote bool, err error) {
	abs := filepath.Join(n.dir, entry)
	t, listed := listing[entry]
	switch {
	case listed && t.IsRegular() && !strings.ContainsAny(entry, `/\`):
		// A plain file of the (resolved) directory: inside the repository.
		return kustItem{file: abs, source: path.Join(n.srcDir, entry)}, false, nil
	case listed && t.IsDir() && entry != "." && entry != ".." && !strings.ContainsAny(entry, `/\`):
		// A plain subdirectory: scanned below.
	default:
		abs, remote, err = s.checkPath(n.dir, kfile, field, entry, true)
		if err != nil || remote {
			return item, remote, err
		}
		st, err := s.fs.stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return item, false, fmt.Errorf("%s: %s: %q: no such file or directory", kfile, field, entry)
			}
			return item, false, fmt.Errorf("%s: %s: %q: %w", kfile, field, entry, err)
		}
		if !st.IsDir() {
			return kustItem{file: abs, source: path.Join(n.srcDir, filepath.ToSlash(entry))}, false, nil
		}
	}
	for _, v := range s.visiting {
		if within(abs, v) {
			return item, false, fmt.Errorf("%s: %s: %q contains %s, which is being built: a cycle", kfile, field, entry, s.dirName(v))
		}
	}
	sub, err := s.scanAs(abs, path.Join(n.srcDir, filepath.ToSlash(entry)))
	if err != nil {
		return item, false, err
	}
	return kustItem{sub: sub}, false, nil
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
	if !within(s.fs.root, joined) {
		return "", false, fmt.Errorf("%s: %s: %q is outside the repository", kfile, field, entry)
	}
	abs, err = s.fs.resolve(joined)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s: %q leads outside the repository through a symlink", kfile, field, entry)
	}
	return abs, false, nil
}

// otherPaths checks the file paths of the other kustomization fields.
func (s *scanner) otherPaths(n *kustNode, kfile string, k map[string]any) error {
	check := func(field string, v any) error {
		p, ok := v.(string)
		if !ok || p == "" || strings.Contains(p, "\n") {
			return nil // not a path: an inline patch or transformer config
		}
		_, remote, err := s.checkPath(n.dir, kfile, field, p, false)
		if remote {
			n.plain = false
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
	if r := s.fs.rel(dir); r != "." {
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

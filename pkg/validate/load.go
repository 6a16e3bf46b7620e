package validate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/jsonvalue"
	"github.com/meshintent/meshintent/policies"
)

// Source is a tree of policy files: *.rego policies, *_test.rego their Rego
// unit tests, and data.yaml, data.yml or data.json data merged over the
// built-in defaults. Other files are ignored, and so are directories whose
// name starts with a dot.
//
// A symlink in the tree is followed as FS follows it (a repository's FS
// refuses one leading out of the repository: see rootfs.FS in pkg/render/rootfs) to a file,
// never to a directory: a linked directory is skipped, so that a link loop
// cannot make the walk endless.
type Source struct {
	// Name prefixes the paths of the source's files in errors and results,
	// e.g. "policies" for a repository's policies/ directory.
	Name string
	// FS holds the files.
	FS fs.FS
}

// Dir is the Source for a directory on disk, named by its path.
func Dir(dir string) Source {
	return Source{Name: filepath.ToSlash(filepath.Clean(dir)), FS: os.DirFS(dir)}
}

// BuiltinSourceName names the embedded built-in policies in errors and
// results: "builtin/weights.rego".
const BuiltinSourceName = "builtin"

// Paths under data that belong to the engine: a data file may set
// meshintent.config but nothing else under meshintent.
var reservedDataKeys = []string{"objects", "intents", "index"}

// callerDataKeys are paths under data.meshintent that only the caller sets,
// through Options.Data: cluster is the live view of the cluster the live
// checks read (pkg/live, policies/live.rego). A repository's data file may
// not set them: a forged view would make a missing Service look deployed
// and silence the checks, or deny what the cluster has.
var callerDataKeys = []string{"cluster"}

// bundle is what the sources hold, parsed.
type bundle struct {
	// modules are the policies by file name, tests holds the *_test.rego files.
	modules map[string]*ast.Module
	tests   map[string]*ast.Module
	// data is the merged data, rooted at data.
	data map[string]any
	// lim bounds the files; dataBytes counts the data files' bytes read.
	lim       limits
	dataBytes int64
	// trusted is set while the built-ins load: no limits.
	trusted bool
	// digest hashes the names and contents of the files read besides the
	// built-ins, and the caller's data: equal digests, equal policies and
	// data. Nil for the built-ins alone (and when data has no JSON form).
	digest hash.Hash
}

// load reads the built-ins, then the sources in order, then extra, merging
// their data in that order. A file larger than lim.maxFile, or data files
// larger than lim.maxData in all, are an error naming the file and limit.
//
// The built-ins are parsed once per process (see builtins); b.digest is
// that of what the other sources and extra hold.
func load(sources []Source, extra map[string]any, lim limits) (*bundle, error) {
	in, err := builtins()
	if err != nil {
		return nil, err
	}
	// The parsed modules are shared: the compiler copies what it compiles,
	// and merge copies the data it merges.
	b := &bundle{modules: maps.Clone(in.modules), tests: maps.Clone(in.tests), data: in.data, dataBytes: in.dataBytes, lim: lim, digest: sha256.New()}
	for _, src := range sources {
		if err := b.add(src); err != nil {
			return nil, err
		}
	}
	if extra != nil {
		if err := checkReserved(extra, reservedDataKeys); err != nil {
			return nil, fmt.Errorf("options data: %w", err)
		}
		b.data = merge(b.data, extra)
		// encoding/json writes maps in key order: equal data, equal bytes.
		raw, err := json.Marshal(extra)
		if err != nil {
			b.digest = nil // data JSON cannot hold: no digest, no cache
		} else {
			b.hash("options data", raw)
		}
	}
	return b, nil
}

// builtins are the embedded policies and data, parsed once per process.
var builtins = sync.OnceValues(func() (*bundle, error) {
	b := &bundle{modules: map[string]*ast.Module{}, tests: map[string]*ast.Module{}, data: map[string]any{}, trusted: true}
	if err := b.add(Source{Name: BuiltinSourceName, FS: policies.FS}); err != nil {
		return nil, fmt.Errorf("built-in policies: %w", err)
	}
	return b, nil
})

// hash adds a file's name and content to b.digest, when b has one.
func (b *bundle) hash(name string, raw []byte) {
	if b.digest == nil {
		return
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(name)))
	b.digest.Write(n[:])
	b.digest.Write([]byte(name))
	binary.BigEndian.PutUint64(n[:], uint64(len(raw)))
	b.digest.Write(n[:])
	b.digest.Write(raw)
}

func (b *bundle) add(src Source) error {
	if src.FS == nil {
		return fmt.Errorf("policy source %q has no file system", src.Name)
	}
	return fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
		name := path.Join(src.Name, p)
		if err != nil {
			return fmt.Errorf("reading policies: %w", err)
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Follow it through FS: an error names a link leaving the
			// repository, or a loop.
			st, err := fs.Stat(src.FS, p)
			if err != nil {
				return fmt.Errorf("reading policies: %s: %w", name, unwrapPathError(err, p))
			}
			if !st.Mode().IsRegular() {
				return nil // a linked directory is not walked
			}
		}
		switch {
		case strings.HasSuffix(p, ".rego"):
			return b.addModule(src.FS, p, name)
		case d.Name() == "data.yaml" || d.Name() == "data.yml" || d.Name() == "data.json":
			return b.addData(src.FS, p, name)
		}
		return nil
	})
}

func (b *bundle) addModule(fsys fs.FS, p, name string) error {
	if _, dup := b.modules[name]; dup {
		return fmt.Errorf("policy %s is loaded twice: give the sources distinct names", name)
	}
	if _, dup := b.tests[name]; dup {
		return fmt.Errorf("policy %s is loaded twice: give the sources distinct names", name)
	}
	src, err := b.readFile(fsys, p)
	if err != nil {
		return fmt.Errorf("reading policy %s: %w", name, err)
	}
	b.hash(name, src)
	// ProcessAnnotation keeps METADATA comments available to policies (rego.metadata).
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		return fmt.Errorf("parsing policy %s: %w", name, err)
	}
	if m == nil {
		return fmt.Errorf("parsing policy %s: empty module, a package declaration is missing", name)
	}
	if strings.HasSuffix(p, "_test.rego") {
		b.tests[name] = m
	} else {
		b.modules[name] = m
	}
	return nil
}

func (b *bundle) addData(fsys fs.FS, p, name string) error {
	raw, err := b.readFile(fsys, p)
	if err != nil {
		return fmt.Errorf("reading data %s: %w", name, err)
	}
	if b.dataBytes += int64(len(raw)); !b.trusted && b.dataBytes > b.lim.maxData {
		return fmt.Errorf("reading data %s: the data files hold more than the limit of %s in all", name, mib(b.lim.maxData))
	}
	b.hash(name, raw)
	var doc map[string]any
	// sigs.k8s.io/yaml reads JSON too, and yields JSON types (float64 numbers).
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parsing data %s: %w", name, err)
	}
	if err := checkReserved(doc, slices.Concat(reservedDataKeys, callerDataKeys)); err != nil {
		return fmt.Errorf("data %s: %w", name, err)
	}
	b.data = merge(b.data, doc)
	return nil
}

// readFile reads p of fsys, refusing a file larger than b.lim.maxFile
// without reading it whole. The error leaves out the path, which the caller
// names.
func (b *bundle) readFile(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, unwrapPathError(err, p)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, unwrapPathError(err, p)
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if b.trusted {
		return io.ReadAll(f)
	}
	if st.Size() > b.lim.maxFile {
		return nil, fmt.Errorf("the file is %s, more than the limit of %s", mib(st.Size()), mib(b.lim.maxFile))
	}
	raw, err := io.ReadAll(io.LimitReader(f, b.lim.maxFile+1))
	if err != nil {
		return nil, unwrapPathError(err, p)
	}
	if int64(len(raw)) > b.lim.maxFile {
		return nil, fmt.Errorf("the file grew past the limit of %s while read", mib(b.lim.maxFile))
	}
	return raw, nil
}

// unwrapPathError is err without the *fs.PathError around it when that
// names p, which the caller names itself; a path error about another file
// (a symlink on the way to p) is kept whole.
func unwrapPathError(err error, p string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && (pe.Path == p || strings.HasSuffix(pe.Path, "/"+p)) {
		return pe.Err
	}
	return err
}

// checkReserved refuses data that sets one of keys under meshintent,
// which would shadow what the engine (or its caller) provides.
func checkReserved(doc map[string]any, keys []string) error {
	mi, ok := doc["meshintent"]
	if !ok {
		return nil
	}
	m, ok := mi.(map[string]any)
	if !ok {
		return fmt.Errorf("meshintent must be a map with a config key")
	}
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return fmt.Errorf("meshintent.%s is provided by the engine and cannot be set", k)
		}
	}
	if c, ok := m["config"]; ok {
		if _, ok := c.(map[string]any); !ok {
			return fmt.Errorf("meshintent.config must be a map")
		}
	}
	return nil
}

// merge returns dst with src merged over it: maps merge key by key, anything
// else in src replaces. Neither argument is modified.
func merge(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range src {
		sm, sok := v.(map[string]any)
		dm, dok := out[k].(map[string]any)
		if sok && dok {
			out[k] = merge(dm, sm)
			continue
		}
		out[k] = jsonvalue.Copy(v)
	}
	return out
}

// configOf is data.meshintent.config, or an empty map.
func configOf(data map[string]any) map[string]any {
	if mi, ok := data["meshintent"].(map[string]any); ok {
		if c, ok := mi["config"].(map[string]any); ok {
			return c
		}
	}
	return map[string]any{}
}

// sortedKeys returns the module file names in order, for deterministic compiles.
func sortedKeys(m map[string]*ast.Module) []string {
	return slices.Sorted(maps.Keys(m))
}

// toJSONMap turns a typed value into the map form JSON gives it.
func toJSONMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

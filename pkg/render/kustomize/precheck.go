package kustomize

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/parallel"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
)

// precheck reads every local file of the tree before kustomize does, so
// that what the fast path would refuse is refused in the same words, naming
// the repo-relative file, and so that kustomize never sees a file it would
// choke on: resources are read as the fast path reads them (size, YAML,
// nesting depth, numbers, mappings), the other YAML files (patches,
// transformer configurations...) for size, YAML, depth and numbers, and
// generator inputs for size. Input the fast path leaves to kustomize
// (fastpath.ErrNotFast) is not an error here.
//
// It returns the objects of the resource files, one slice per file in the
// order of a depth-first walk of the tree's items (for naming the files of
// a duplicate kustomize reports, and for the fast path's transforms),
// whether every file was read (false when one holds input the fast path
// leaves to kustomize) and every problem found, joined.
func (r *Builder) precheck(ctx context.Context, top *fastpath.Node) ([][]fastpath.Object, bool, error) {
	var resources []fastpath.Item
	var others []fastpath.Other
	top.Walk(
		func(it fastpath.Item) { resources = append(resources, it) },
		func(n *fastpath.Node) { others = append(others, n.Files...) })

	objs := make([][]fastpath.Object, len(resources))
	notFast := make([]error, len(resources))
	errs := make([]error, len(resources)+len(others))
	fb := &fastpath.Builder{FS: r.FS, Parsed: r.Parsed}
	var sums [][sha256.Size]byte
	if r.Parsed != nil {
		sums = make([][sha256.Size]byte, len(resources))
	}
	parallel.Do(ctx, len(resources)+len(others), r.Workers, func(i int) {
		if i < len(resources) {
			it := resources[i]
			var sum *[sha256.Size]byte
			if sums != nil {
				sum = &sums[i]
			}
			// strictRead's check of the file, on the documents parsed here.
			parsed := false
			objs[i], errs[i] = fb.ReadResourceFile(it, sum, func(docs []*yaml.Node) {
				parsed = true
				found, declared, _ := r.strictCheck(strictJob{Source: it.Source, File: it.File}, docs)
				r.keepStrict(it.File, strictResult{found: found, declared: declared})
			})
			if errs[i] == nil && !parsed {
				// Unchanged since a build that passed every check: only
				// the intents it declares are needed.
				r.keepStrict(it.File, strictResult{declared: declaredIntents(objs[i])})
			}
			if errors.Is(errs[i], fastpath.ErrNotFast) {
				notFast[i], errs[i] = errs[i], nil
			}
			return
		}
		errs[i] = r.checkFile(others[i-len(resources)])
	})
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	complete := true
	for _, err := range notFast {
		if err != nil {
			complete = false
		}
	}
	// Once a render-wide limit is crossed, every later file gets that same
	// error: report it once.
	err := fastpath.JoinUnique(errs)
	if err == nil && complete && r.Parsed != nil {
		// Packed now, before the transforms change the objects.
		r.NextParsed = fastpath.NextParsedOf(r.Parsed, resources, sums, objs)
	}
	return objs, complete, err
}

// keepStrict keeps strictRead's findings on a resource file.
func (r *Builder) keepStrict(file string, res strictResult) {
	r.strictMu.Lock()
	defer r.strictMu.Unlock()
	if r.strictDone == nil {
		r.strictDone = map[string]strictResult{}
	}
	r.strictDone[file] = res
}

// checkFile checks a file other than a resource that kustomize would read.
func (r *Builder) checkFile(f fastpath.Other) error {
	if !f.YAML {
		st, err := os.Stat(f.File)
		if err == nil && st.Size() > r.FS.MaxFileSize() {
			file, err := os.Open(f.File)
			if err != nil {
				return fmt.Errorf("%s: %w", f.Source, err)
			}
			defer file.Close()
			return rootfs.Named(f.Source, r.FS.Budget().CheckFileSize(f.Source, st.Size(), file))
		}
		return nil // kustomize reports the other problems
	}
	b, err := r.FS.ReadResolved(f.File)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return rootfs.Named(f.Source, err)
	}
	docs, err := r.FS.Parse(f.File, f.Source, b)
	var le *rootfs.LimitError
	if errors.As(err, &le) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: invalid YAML: %w", f.Source, fastpath.OneLineError(err))
	}
	for _, d := range docs {
		_, err := fastpath.Value(d, r.FS.MaxDepth())
		if errors.Is(err, fastpath.ErrExotic) {
			err = fastpath.CheckDepth(d, r.FS.MaxDepth())
		}
		var ve *fastpath.ValueError
		if errors.As(err, &ve) {
			return errors.New(ve.At(f.Source))
		}
	}
	return nil
}

// prefixEach prefixes the message of each error of a joined error.
func prefixEach(prefix string, err error) error {
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	list := multi.Unwrap()
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s%w", prefix, e)
	}
	return errors.Join(out...)
}

// kustomizeChain matches one link of the chain of prefixes kustomize wraps
// its errors in, naming the directory or file it was reading.
var kustomizeChain = regexp.MustCompile(`^(?:accumulating resources|recursed accumulation of path '([^']*)'|recursed merging from path '([^']*)'|couldn't make target for path '([^']*)'|accumulating resources from '([^']*)'|merging resources from '([^']*)'|accumulateDirectory|loader\.New): `)

// kustomizeTriedDir is the start of what kustomize says when a resource
// that is a directory could not be read as a file, before the real error.
var kustomizeTriedDir = regexp.MustCompile(`^accumulating resources from '[^']*': '[^']*' must resolve to a file': `)

// goMapDump matches the start of an object that kustomize prints with %v
// in some errors (the whole object, however large).
const goMapDump = "map[string]interface {}{"

// originInDump finds the origin annotation in such a dump.
var originInDump = regexp.MustCompile(`"config\.kubernetes\.io/origin":"path: ([^"\\]+)`)

// breakEscaper writes line breaks as Go escapes.
var breakEscaper = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`)

// maxKustomizeMessage bounds what is kept of a kustomize error: its cause
// comes last, so a longer message keeps its end.
const maxKustomizeMessage = 480

// kustomizeError rewrites kustomize's error for the build of dir in the
// repository's terms: paths relative to the root, the chain of "accumulating
// resources from..." reduced to the file that failed, the noise kustomize
// adds when it tries a resource as a file and then as a directory dropped
// (it keeps only the attempt that matters), objects it prints whole replaced
// by their file, and a duplicate naming both files that declare the object
// (declared are the objects of the tree's resource files).
func (r *Builder) kustomizeError(dir string, err error, declared []fastpath.Object) error {
	dirRel := r.dirRel(dir)
	msg := strings.ReplaceAll(err.Error(), r.FS.Root()+"/", "")
	msg = strings.ReplaceAll(msg, r.FS.Root(), ".")
	msg = dropTriedPaths(msg)
	msg = replaceDumps(msg, dirRel)
	file, msg := followChain(msg, dirRel)
	if i := strings.LastIndex(msg, " in File: "); i >= 0 {
		msg = msg[:i] // the file is named in front
	}
	msg = strings.TrimPrefix(msg, "MalformedYAMLError: ")
	plugin := strings.Contains(msg, "external plugins disabled") || strings.Contains(msg, "--enable-helm")
	if dup := duplicateMessage(file, msg, declared); dup != "" {
		file, msg = "", dup
	}
	if file != "" {
		msg = file + ": " + msg
	}
	// Kustomize quotes configuration as it is, over several lines.
	msg = breakEscaper.Replace(msg)
	if len(msg) > maxKustomizeMessage {
		cut := len(msg) - maxKustomizeMessage
		for cut < len(msg) && !utf8.RuneStart(msg[cut]) {
			cut++
		}
		msg = "…" + msg[cut:]
	}
	if plugin {
		return fmt.Errorf("kustomize build %s: %s (meshintent runs kustomize without plugins, KRM functions or Helm)", dirRel, msg)
	}
	return fmt.Errorf("kustomize build %s: %s", dirRel, msg)
}

// dropTriedPaths removes what kustomize says about the way of reading a
// resource that does not apply. Kustomize reads a resource as a file and,
// when that fails, as a directory, and then reports both failures as
// "accumulation err='<as a file>': <as a directory>": for a directory, the
// file attempt only says "'base' must resolve to a file"; for a file, the
// directory attempt only says "must build at directory: ... file is not
// directory". Either way, only the other part is the problem.
func dropTriedPaths(msg string) string {
	const acc = "accumulation err='"
	for {
		i := strings.Index(msg, acc)
		if i < 0 {
			return msg
		}
		head, rest := msg[:i], msg[i+len(acc):]
		if m := kustomizeTriedDir.FindString(rest); m != "" {
			msg = head + rest[len(m):]
			continue
		}
		if j := strings.LastIndex(rest, "': must build at directory: "); j >= 0 {
			msg = head + rest[:j]
			continue
		}
		return msg
	}
}

// replaceDumps replaces each object kustomize printed whole with the file
// its origin annotation names.
func replaceDumps(msg, dirRel string) string {
	for {
		i := strings.Index(msg, goMapDump)
		if i < 0 {
			return msg
		}
		end := dumpEnd(msg, i+len(goMapDump)-1)
		what := "an object"
		if m := originInDump.FindStringSubmatch(msg[i:end]); m != nil {
			what = path.Clean(path.Join(dirRel, m[1]))
		}
		msg = msg[:i] + what + msg[end:]
	}
}

// dumpEnd returns the index after the brace matching the one at open,
// skipping Go-quoted strings; len(s) when it is not closed.
func dumpEnd(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// followChain strips kustomize's chain of prefixes from msg, following the
// directories and files it names (relative to the directory being built)
// to the repo-relative file (or else the directory, when not the one being
// built) that failed, "" when none is named.
func followChain(msg, dirRel string) (file, rest string) {
	cur := dirRel
	for {
		m := kustomizeChain.FindStringSubmatchIndex(msg)
		if m == nil {
			if file == "" && cur != dirRel {
				file = cur
			}
			return file, msg
		}
		group := func(g int) (string, bool) {
			if m[2*g] < 0 {
				return "", false
			}
			return msg[m[2*g]:m[2*g+1]], true
		}
		for g := 1; g <= 3; g++ {
			if p, ok := group(g); ok {
				cur, file = p, "" // already relative to the root
			}
		}
		for g := 4; g <= 5; g++ {
			if p, ok := group(g); ok && !strings.Contains(p, "://") {
				file = path.Clean(path.Join(cur, p))
			}
		}
		msg = msg[m[1]:]
	}
}

// duplicateMessage rewrites kustomize's error for an object declared twice
// as the fast path words it, naming both files, when the resources declare
// the object kustomize names in two files; "" otherwise (kustomize's
// transformers may have renamed the objects).
func duplicateMessage(file, msg string, declared []fastpath.Object) string {
	const dupText = "may not add resource with an already registered id: "
	i := strings.Index(msg, dupText)
	if i < 0 {
		return ""
	}
	id := msg[i+len(dupText):]
	var sources []string
	var obj map[string]any
	for _, b := range declared {
		if !hasResID(b.Obj, id) {
			continue
		}
		obj = b.Obj
		if !slices.Contains(sources, b.Source) {
			sources = append(sources, b.Source)
		}
	}
	if len(sources) < 2 {
		return ""
	}
	later, first := sources[1], sources[0]
	if slices.Contains(sources, file) {
		later = file
		if first == file {
			first = sources[1]
		}
	}
	return fmt.Sprintf("%s: %s is declared twice, also in %s (kustomize: %s%s)", later, fastpath.ObjectName(obj), first, dupText, id)
}

// hasResID reports whether obj has kustomize's ID id, with its namespace as
// written or made effective.
func hasResID(obj map[string]any, id string) bool {
	rid := fastpath.ResID(obj)
	if rid.String() == id {
		return true
	}
	ns := intent.StringField(intent.Metadata(obj), "namespace")
	return resid.NewResIdWithNamespace(rid.Gvk, rid.Name, ns).String() == id
}

package kustomize

import (
	"context"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render/fastpath"
	"github.com/meshintent/meshintent/pkg/render/parallel"
)

// strictRead decodes every intent document of the files the build under top
// reads — resources, bases' and components' resources, and patches (files
// and inline) — strictly, as written, before kustomize merges anything (see
// intent.CheckRead). Without it a misspelt field in a base that an overlay
// replaces would vanish in the merge and never be reported.
//
// It runs after precheck, so every file has passed the size, YAML and depth
// checks; a document precheck leaves to kustomize (aliases, merge keys,
// custom tags) is not checked here, and Decode still checks the merged
// object. It returns an intent.ErrorList, sorted, or nil.
func (r *Builder) strictRead(ctx context.Context, top *fastpath.Node) error {
	var jobs []strictJob
	var walk func(n *fastpath.Node, namespaces []string)
	walk = func(n *fastpath.Node, namespaces []string) {
		from, depth := len(jobs), len(namespaces)
		namespaces = append(slices.Clip(namespaces), kustomizationNamespace(n))
		for _, it := range n.Items {
			if it.Sub != nil {
				walk(it.Sub, namespaces)
			} else if it.File != "" {
				jobs = append(jobs, strictJob{Source: it.Source, File: it.File, Namespaces: namespaces})
			}
		}
		for _, p := range n.Patches {
			j := strictJob{Source: p.Source, File: p.File, Inline: p.Inline, Patch: true, Target: patchTarget(p.Target), From: from, Depth: depth}
			if p.File == "" {
				// An inline patch: its lines count from its key's; a block
				// scalar's columns from its indentation (that of its first
				// line). A one-line patch's columns are unknown: -1.
				j.Line, j.Column = p.Line-1, -1
				if strings.Contains(p.Inline, "\n") {
					j.Line, j.Column = p.Line, r.blockIndent(n.File, p.Line)
				}
			}
			jobs = append(jobs, j)
		}
	}
	walk(top, nil)

	found := make([]intent.ErrorList, len(jobs))
	declared := make([][]intent.ObjectRef, len(jobs)) // the intents each resource file declares
	patched := make([][]patchedIntent, len(jobs))     // the intents each patch names, without a target
	parallel.Do(ctx, len(jobs), r.Workers, func(i int) {
		j := jobs[i]
		if !j.Patch {
			// precheck has checked the resource files it parsed.
			r.strictMu.Lock()
			done, ok := r.strictDone[j.File]
			r.strictMu.Unlock()
			if ok {
				found[i], declared[i] = done.found, done.declared
				return
			}
		}
		var docs []*yaml.Node
		if j.File != "" {
			b, err := r.FS.ReadResolved(j.File)
			if err != nil {
				return // precheck or kustomize reports it
			}
			if docs, err = r.FS.Parse(j.File, j.Source, b); err != nil {
				return
			}
		} else {
			var err error
			if docs, err = intent.ParseDocuments([]byte(j.Inline)); err != nil {
				return
			}
		}
		found[i], declared[i], patched[i] = r.strictCheck(j, docs)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	var all intent.ErrorList
	for _, l := range found {
		all = append(all, l...)
	}
	// A patch of an intent that no resource of its tree declares: most
	// often a file left out of a kustomization's resources.
	for i, list := range patched {
		for _, p := range list {
			if !declaredBefore(jobs[i].From, i, p.ref, func(k int) ([]intent.ObjectRef, []string) {
				// The namespaces set between the resource and the
				// patch's kustomization apply before the patch does (a
				// patch job declares nothing and has none).
				if jobs[k].Patch {
					return nil, nil
				}
				return declared[k], jobs[k].Namespaces[jobs[i].Depth+1:]
			}) {
				col := 0
				if jobs[i].Column >= 0 {
					col = p.column + jobs[i].Column
				}
				all = append(all, &intent.FieldError{
					File: jobs[i].Source, Line: p.ref.Line, Column: col,
					Object:  manifest.ObjectID(p.ref.Kind, p.ref.Namespace, p.ref.Name),
					Message: "this patch's object is declared by no resource it applies to: is its file missing from a kustomization's resources?",
				})
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	all.Sort()
	return all
}

// strictJob is a file (or inline patch) strictRead checks.
type strictJob struct {
	Source, File, Inline string
	Line, Column         int
	Patch                bool
	Target               intent.ObjectRef
	// From is the first job of the patch's kustomization's tree: a
	// patch applies to the resources of jobs[From:] declared before it.
	From int
	// Namespaces are those the kustomizations from the top down to a
	// resource's set (see kustomizationNamespace); Depth is the
	// number of kustomizations above a patch's.
	Namespaces []string
	Depth      int
}

// strictResult is strictCheck's finding on a resource file.
type strictResult struct {
	found    intent.ErrorList
	declared []intent.ObjectRef
}

// strictCheck decodes the intent documents docs of j strictly, and returns
// what it found wrong, the intents a resource file declares and those a
// patch without a target names.
func (r *Builder) strictCheck(j strictJob, docs []*yaml.Node) (found intent.ErrorList, declared []intent.ObjectRef, patched []patchedIntent) {
	for _, d := range docs {
		if !mayBeIntent(d, j.Patch, j.Target) {
			continue
		}
		v, err := fastpath.Value(d, r.FS.MaxDepth())
		if err != nil {
			continue
		}
		found = append(found, intent.CheckRead(intent.ReadDoc{
			Source: j.Source, Node: d, Value: v, Patch: j.Patch, Target: j.Target,
			LineOffset: j.Line, ColumnOffset: j.Column,
		})...)
		if d.Kind == yaml.MappingNode && isIntentKind(intent.ScalarAt(d, "kind")) {
			ref := intent.ObjectRef{Kind: intent.ScalarAt(d, "kind"), Namespace: intent.ScalarAt(d, "metadata", "namespace"), Name: intent.ScalarAt(d, "metadata", "name")}
			if !j.Patch {
				declared = append(declared, ref)
			} else if j.Target.Kind == "" && ref.Name != "" {
				ref.Line = d.Line + j.Line
				patched = append(patched, patchedIntent{ref: ref, column: d.Column})
			}
		}
	}
	return found, declared, patched
}

// declaredIntents are the intents among a resource file's objects, as
// strictCheck finds them in its documents.
func declaredIntents(objs []fastpath.Object) []intent.ObjectRef {
	var refs []intent.ObjectRef
	for _, o := range objs {
		kind := intent.StringField(o.Obj, "kind")
		if !strings.HasPrefix(intent.StringField(o.Obj, "apiVersion"), v1alpha1.Group+"/") || !isIntentKind(kind) {
			continue
		}
		m := intent.Metadata(o.Obj)
		refs = append(refs, intent.ObjectRef{Kind: kind, Namespace: intent.StringField(m, "namespace"), Name: intent.StringField(m, "name")})
	}
	return refs
}

// patchedIntent is an intent a strategic-merge patch names, where.
type patchedIntent struct {
	ref    intent.ObjectRef
	column int
}

// anyNamespace stands for a namespace transformer the checks cannot read:
// that of a kustomization the fast path leaves to kustomize.
const anyNamespace = "*"

// kustomizationNamespace is the namespace n's kustomization moves its
// resources to: "" for none, anyNamespace when it is not known.
func kustomizationNamespace(n *fastpath.Node) string {
	switch {
	case n.Transforms != nil:
		return n.Transforms.Namespace
	case n.Plain || n.Fast:
		return ""
	}
	return anyNamespace
}

// declaredBefore reports whether an intent of ref's kind and name (kustomize
// may have added a prefix or suffix) is declared by one of the jobs from
// first up to last (excluded). at returns what job k declares and the
// namespaces that kustomizations set on it before the patch applies:
// kustomize matches a patch against an object's namespace as declared and
// as transformed.
func declaredBefore(first, last int, ref intent.ObjectRef, at func(k int) ([]intent.ObjectRef, []string)) bool {
	for k := first; k < last; k++ {
		declared, namespaces := at(k)
		for _, d := range declared {
			if d.Kind == ref.Kind && strings.Contains(ref.Name, d.Name) && namespaceMatches(ref.Namespace, d.Namespace, namespaces) {
				return true
			}
		}
	}
	return false
}

// namespaceMatches reports whether a patch naming namespace want may apply
// to an object declared in namespace declared and then moved by the
// namespace transformers moved.
func namespaceMatches(want, declared string, moved []string) bool {
	if want == "" || declared == "" || want == declared {
		return true
	}
	for _, ns := range moved {
		if ns == want || ns == anyNamespace {
			return true
		}
	}
	return false
}

// blockIndent returns the indentation of the first non-empty line after
// line (1-based) of file: the columns a block scalar's text is shifted by.
func (r *Builder) blockIndent(file string, line int) int {
	b, err := r.FS.ReadResolved(file)
	if err != nil {
		return -1
	}
	lines := strings.Split(string(b), "\n")
	for i := line; i < len(lines); i++ {
		if t := strings.TrimLeft(lines[i], " "); t != "" {
			return len(lines[i]) - len(t)
		}
	}
	return -1
}

// mayBeIntent tells cheaply whether a document may be an intent or a patch
// of one, before its value is built.
func mayBeIntent(d *yaml.Node, patch bool, target intent.ObjectRef) bool {
	if d == nil {
		return false
	}
	if d.Kind == yaml.SequenceNode {
		return patch && isIntentKind(target.Kind)
	}
	if d.Kind != yaml.MappingNode {
		return false
	}
	apiVersion := intent.ScalarAt(d, "apiVersion")
	if apiVersion == "" && patch {
		return isIntentKind(target.Kind)
	}
	return strings.HasPrefix(apiVersion, v1alpha1.Group+"/")
}

func isIntentKind(kind string) bool {
	return kind == v1alpha1.KindServiceIntent || kind == v1alpha1.KindNamespaceIntent
}

// patchTarget reads a patch's target selector.
func patchTarget(t map[string]any) intent.ObjectRef {
	kind, _ := t["kind"].(string)
	ns, _ := t["namespace"].(string)
	name, _ := t["name"].(string)
	return intent.ObjectRef{Kind: kind, Namespace: ns, Name: name}
}

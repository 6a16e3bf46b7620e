package render

import (
	"context"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
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
func (r *renderer) strictRead(ctx context.Context, top *kustNode) error {
	type job struct {
		source, file, inline string
		line                 int
		patch                bool
		target               intent.ObjectRef
	}
	var jobs []job
	var walk func(n *kustNode)
	walk = func(n *kustNode) {
		for _, it := range n.items {
			if it.sub != nil {
				walk(it.sub)
			} else if it.file != "" {
				jobs = append(jobs, job{source: it.source, file: it.file})
			}
		}
		for _, p := range n.patches {
			j := job{source: p.source, file: p.file, inline: p.inline, patch: true, target: patchTarget(p.target)}
			if p.file == "" {
				// An inline patch: its lines count from its key's.
				j.line = p.line - 1
				if strings.Contains(p.inline, "\n") {
					j.line = p.line
				}
			}
			jobs = append(jobs, j)
		}
	}
	walk(top)

	found := make([]intent.ErrorList, len(jobs))
	parallel(ctx, len(jobs), r.workers, func(i int) {
		j := jobs[i]
		var docs []*yaml.Node
		if j.file != "" {
			b, err := r.fs.readResolved(j.file)
			if err != nil {
				return // precheck or kustomize reports it
			}
			if docs, err = r.fs.parse(j.file, j.source, b); err != nil {
				return
			}
		} else {
			var err error
			if docs, err = intent.ParseDocuments([]byte(j.inline)); err != nil {
				return
			}
		}
		for _, d := range docs {
			if !mayBeIntent(d, j.patch, j.target) {
				continue
			}
			v, err := r.nodeValue(d)
			if err != nil {
				continue
			}
			found[i] = append(found[i], intent.CheckRead(intent.ReadDoc{
				Source: j.source, Node: d, Value: v, Patch: j.patch, Target: j.target, LineOffset: j.line,
			})...)
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	var all intent.ErrorList
	for _, l := range found {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return nil
	}
	all.Sort()
	return all
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
	apiVersion := scalarAt(d, "apiVersion")
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

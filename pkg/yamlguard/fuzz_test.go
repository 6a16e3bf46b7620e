package yamlguard

import (
	"errors"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxFileSize: 64 << 10, MaxTotalSize: 256 << 10, MaxDepth: 16, MaxNodes: 4000, MaxAliasNodes: 2000, MaxDocuments: 20}

// FuzzParse parses its input under small limits. Parse must not panic nor
// hang; a breach names the file, a line and its limit; an accepted input
// expands (aliases copied, as decoders do) to exactly the nodes Parse
// counted, no deeper than MaxDepth, and yaml.v3 decodes it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		laughs(8, 9), mapLaughs(4, 9), mergeLaughs(5, 9), laughs(2, 3),
		"a: &a [1, *a]\n", "a: " + strings.Repeat("[", 1000), blockMaps(20),
		"a: &a {b: &b [1, 2, {c: 3}], d: *b}\ne: [*a, *b, *a]\nf: {<<: *a, g: *b}\n",
		strings.Repeat("---\na: 1\n", 30), "a: b\x00c\n", "a: caf\xe9\n", "? [a, b]\n: c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBudget(fuzzLimits)
		docs, err := b.Parse("f.yaml", data)
		var ge *Error
		if errors.As(err, &ge) {
			if ge.File != "f.yaml" || ge.Line < 1 || !strings.Contains(ge.Msg, ge.Limit) {
				t.Fatalf("breach without file, line or limit word: %#v", ge)
			}
			return
		}
		var want, aliases int64
		for _, d := range docs {
			n, a, h := expand(t, d, 0)
			want, aliases = want+n, aliases+a
			if h > fuzzLimits.MaxDepth {
				t.Fatalf("accepted a document %d levels deep", h)
			}
			// Decoding must not panic; an error it gives (a duplicate key, a
			// bad merge) is yaml.v3's reading, but never its own alias limit.
			var v any
			if err := d.Decode(&v); err != nil && strings.Contains(err.Error(), "excessive aliasing") {
				t.Fatalf("accepted, but yaml.v3 finds it too aliased: %v", err)
			}
		}
		if err == nil {
			if got := b.nodes.Load() - aliases + b.aliasNodes.Load(); got != want {
				t.Fatalf("counted %d expanded nodes, expanding gives %d", got, want)
			}
		}
	})
}

// expand counts n's nodes with aliases expanded, its written aliases and
// its height, refusing to go on past what the limits allow (Parse accepted
// it, so that would be a bug, not a cost to pay).
func expand(t *testing.T, n *yaml.Node, depth int) (nodes, aliases int64, height int) {
	if depth > 10*fuzzLimits.MaxDepth {
		t.Fatalf("accepted input expands deeper than %d", depth)
	}
	var walk func(n *yaml.Node, written bool, depth int) (int64, int)
	walk = func(n *yaml.Node, written bool, depth int) (int64, int) {
		if depth > 10*fuzzLimits.MaxDepth {
			t.Fatalf("accepted input expands deeper than %d", depth)
		}
		if n.Kind == yaml.AliasNode {
			if written {
				aliases++
			}
			return walk(n.Alias, false, depth)
		}
		c, h := int64(1), 0
		for _, ch := range n.Content {
			cc, hh := walk(ch, written, depth+1)
			c, h = c+cc, max(h, hh)
			if c > fuzzLimits.MaxNodes+fuzzLimits.MaxAliasNodes {
				t.Fatalf("accepted input expands to more than %d nodes", c)
			}
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			h++
		}
		return c, h
	}
	nodes, height = walk(n, true, depth)
	return nodes, aliases, height
}

package validate

import (
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// flatCache is a topdown.VirtualCache that keeps each frame in one hash map
// keyed by the ref's hash, instead of a tree of maps with one map per ref
// term: evaluating a rule for a small input mostly caches a handful of refs,
// and the tree's map per node is most of what that costs.
type flatCache struct {
	frames []map[int][]cacheEntry
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
}

var _ topdown.VirtualCache = (*flatCache)(nil)

func newFlatCache() *flatCache {
	return &flatCache{frames: make([]map[int][]cacheEntry, 1, 4)}
}

func (c *flatCache) Push() { c.frames = append(c.frames, nil) }

func (c *flatCache) Pop() {
	c.frames[len(c.frames)-1] = nil
	c.frames = c.frames[:len(c.frames)-1]
}

// Get follows topdown.VirtualCache: (value, false) when cached, (nil, true)
// when cached as undefined, (nil, false) when not cached; only the top frame
// counts.
func (c *flatCache) Get(ref ast.Ref) (*ast.Term, bool) {
	for _, e := range c.frames[len(c.frames)-1][ref.Hash()] {
		if e.ref.Equal(ref) {
			return e.value, e.undefined
		}
	}
	return nil, false
}

func (c *flatCache) Put(ref ast.Ref, value *ast.Term) {
	top := c.frames[len(c.frames)-1]
	if top == nil {
		top = map[int][]cacheEntry{}
		c.frames[len(c.frames)-1] = top
	}
	h := ref.Hash()
	entries := top[h]
	for i, e := range entries {
		if e.ref.Equal(ref) {
			entries[i].value, entries[i].undefined = value, value == nil
			return
		}
	}
	// The caller may reuse the ref's backing array.
	top[h] = append(entries, cacheEntry{ref: slices.Clone(ref), value: value, undefined: value == nil})
}

func (c *flatCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, entries := range c.frames[len(c.frames)-1] {
		for _, e := range entries {
			keys = append(keys, e.ref)
		}
	}
	return keys
}

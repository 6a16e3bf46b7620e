package validate

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestFlatCacheFollowsVirtualCache(t *testing.T) {
	c := newFlatCache()
	p, q := ast.MustParseRef("data.a.p"), ast.MustParseRef(`data.a.f[{"x": 1}]`)
	if v, undefined := c.Get(p); v != nil || undefined {
		t.Fatalf("empty cache: Get = %v, %v", v, undefined)
	}
	c.Put(p, ast.IntNumberTerm(1))
	c.Put(q, nil)
	if v, undefined := c.Get(ast.MustParseRef("data.a.p")); !v.Equal(ast.IntNumberTerm(1)) || undefined {
		t.Errorf("Get(p) = %v, %v; want 1, false", v, undefined)
	}
	if v, undefined := c.Get(ast.MustParseRef(`data.a.f[{"x": 1}]`)); v != nil || !undefined {
		t.Errorf("Get(q) = %v, %v; want nil, true (undefined)", v, undefined)
	}
	// A new frame (a with statement) starts empty and disappears with Pop.
	c.Push()
	if v, undefined := c.Get(p); v != nil || undefined {
		t.Errorf("Get(p) in a new frame = %v, %v; want nil, false", v, undefined)
	}
	c.Put(p, ast.IntNumberTerm(2))
	if len(c.Keys()) != 1 {
		t.Errorf("Keys in the new frame = %v, want one", c.Keys())
	}
	c.Pop()
	if v, _ := c.Get(p); !v.Equal(ast.IntNumberTerm(1)) {
		t.Errorf("Get(p) after Pop = %v, want 1", v)
	}
	// Put replaces, and keeps its own copy of the ref.
	buf := ast.MustParseRef("data.a.p")
	c.Put(buf, ast.IntNumberTerm(3))
	buf[2] = ast.StringTerm("changed")
	if v, _ := c.Get(p); !v.Equal(ast.IntNumberTerm(3)) {
		t.Errorf("Get(p) after a second Put = %v, want 3", v)
	}
}

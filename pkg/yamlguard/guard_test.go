package yamlguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// laughs is a billion laughs of levels levels, each a list repeating the
// anchor of the level below width times, as a flow sequence.
func laughs(levels, width int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [" + strings.TrimSuffix(strings.Repeat("lol,", width), ",") + "]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), width), ",")
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, refs)
	}
	return b.String()
}

// mapLaughs is the same bomb made of block mappings.
func mapLaughs(levels, width int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 {x: lol}\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d\n", i, i)
		for j := 0; j < width; j++ {
			fmt.Fprintf(&b, "  k%d: *l%d\n", j, i-1)
		}
	}
	return b.String()
}

// mergeLaughs is the bomb made of merge keys: each level merges the level
// below into itself several times, through a list of aliases.
func mergeLaughs(levels, width int) string {
	var b strings.Builder
	b.WriteString("m0: &m0 {x: lol, y: lol}\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), width), ", ")
		fmt.Fprintf(&b, "m%d: &m%d\n  <<: [%s]\n  k%d: *m%d\n", i, i, refs, i, i-1)
	}
	return b.String()
}

func TestParseRefusesHostileYAML(t *testing.T) {
	small := Limits{MaxFileSize: 1 << 20, MaxTotalSize: 2 << 20, MaxNodes: 50_000, MaxDocuments: 100}
	tests := []struct {
		name  string
		lim   Limits
		data  string
		limit string // the Error's Limit, "" for no error
		line  int
		msg   string // a fragment of the message
	}{{
		name: "a billion laughs of lists, as in the issue", data: laughs(8, 9),
		limit: LimitAlias, line: 6, msg: "alias expansion exceeds the limit",
	}, {
		name: "a billion laughs of block mappings", data: mapLaughs(9, 9),
		limit: LimitAlias, msg: "alias expansion exceeds the limit",
	}, {
		name: "a billion laughs of merge keys", data: mergeLaughs(12, 9),
		limit: LimitAlias, msg: "alias expansion exceeds the limit",
	}, {
		name: "a wide, flat alias fan-out over a large text", lim: Limits{MaxTotalSize: 1 << 20},
		data:  "a: &a \"" + strings.Repeat("x", 64<<10) + "\"\nb: [" + strings.TrimSuffix(strings.Repeat("*a,", 100), ",") + "]\n",
		limit: LimitAlias, line: 2, msg: "alias expansion exceeds the size limit",
	}, {
		name: "an alias inside its own anchor", data: "a: &a [1, *a]\n",
		limit: LimitAlias, line: 1, msg: "alias cycle",
	}, {
		name: "100k nested flow lists", data: "a: " + strings.Repeat("[", 100_000),
		limit: LimitDepth, line: 1, msg: "nest more than 64 levels deep",
	}, {
		name: "100k nested flow maps", data: "a:\n  b: " + strings.Repeat("{a: ", 100_000),
		limit: LimitDepth, line: 2, msg: "nest more than 64 levels deep",
	}, {
		name: "65 nested block maps", data: blockMaps(65),
		limit: LimitDepth, line: 65, msg: "nest more than 64 levels deep",
	}, {
		name: "depth reached through an alias", data: "a: &a " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\nb: " + strings.Repeat("[", 30) + "*a" + strings.Repeat("]", 30) + "\n",
		limit: LimitDepth, line: 2, msg: "through alias *a",
	}, {
		name: "a file over the size limit", lim: Limits{MaxFileSize: 1000}, data: strings.Repeat("a: b\n", 300),
		limit: LimitSize, line: 201, msg: "the file is 1.5 KiB, more than the 1000 bytes a file may be",
	}, {
		name: "too many documents", lim: small, data: strings.Repeat("---\na: 1\n", 101),
		limit: LimitSize, line: 201, msg: "more than 100 YAML documents",
	}, {
		name: "too many empty documents", lim: small, data: strings.Repeat("---\n", 1000),
		limit: LimitSize, msg: "more than 100 YAML documents",
	}, {
		name: "too many nodes", lim: small, data: "a: [" + strings.Repeat("1,", 60_000) + "1]\n",
		limit: LimitSize, line: 1, msg: "more than 50000 YAML nodes",
	}, {
		name: "a huge single string under the limits", data: "a: \"" + strings.Repeat("x", 3<<20) + "\"\n",
	}, {
		name: "a few anchors reused a few times", data: "base: &b {timeout: 3s, retries: {attempts: 3}}\nx: {<<: *b, y: 1}\nz: [*b, *b, *b]\n",
	}, {
		name: "a billion laughs too small to matter", data: laughs(3, 9),
	}, {
		name: "64 nested block maps", data: blockMaps(64),
	}, {
		name: "NUL bytes", data: "a: b\x00c\n",
	}, {
		name: "invalid UTF-8", data: "a: caf\xe9\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.lim)
			start := time.Now()
			_, err := b.Parse("base/bomb.yaml", []byte(tt.data))
			if d := time.Since(start); d > time.Second {
				t.Errorf("Parse took %s, want well under a second", d)
			}
			var ge *Error
			if tt.limit == "" {
				if errors.As(err, &ge) {
					t.Fatalf("Parse refused it: %v", err)
				}
				return
			}
			if !errors.As(err, &ge) {
				t.Fatalf("Parse = %v, want a %s *Error", err, tt.limit)
			}
			msg := ge.Error()
			if ge.Limit != tt.limit || !strings.Contains(msg, tt.limit) || !strings.Contains(msg, tt.msg) {
				t.Errorf("error = %q (limit %s), want limit %s and %q", msg, ge.Limit, tt.limit, tt.msg)
			}
			if want := "base/bomb.yaml:"; !strings.HasPrefix(msg, want) || ge.Line < 1 {
				t.Errorf("error = %q, want it to start with %s and a line", msg, want)
			}
			if tt.line != 0 && ge.Line != tt.line {
				t.Errorf("line = %d, want %d (%s)", ge.Line, tt.line, msg)
			}
		})
	}
}

func blockMaps(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	b.WriteString(strings.Repeat(" ", n) + "v\n")
	return b.String()
}

// TestParseBombUsesLittleMemory: the bomb of the issue is refused with a
// few kilobytes allocated, not the gigabytes its expansion takes.
func TestParseBombUsesLittleMemory(t *testing.T) {
	data := []byte(laughs(8, 9))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := NewBudget(Limits{}).Check("bomb.yaml", data)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("the bomb was accepted")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("refusing a %d-byte bomb allocated %d bytes, want under 1 MiB", len(data), alloc)
	}
}

// TestParseRenderWideBudget: limits hold over all the files of a render, so
// many files each under the limits do not add up to a bomb; the first file
// that crosses is named, and the render's later files get that same error.
func TestParseRenderWideBudget(t *testing.T) {
	b := NewBudget(Limits{MaxAliasNodes: 2000})
	file := laughs(2, 9) // its aliases add 9*10 + 9*91 = 909 nodes
	var err error
	n := 0
	for ; n < 1000 && err == nil; n++ {
		err = b.Check(fmt.Sprintf("f%d.yaml", n), []byte(file))
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Limit != LimitAlias {
		t.Fatalf("after %d files: %v, want an alias error", n, err)
	}
	if n < 2 || n > 30 {
		t.Errorf("the budget ran out at file %d, want after a few files", n)
	}
	crossed := ge.File
	if err := b.Check("later.yaml", []byte("a: 1\n")); !errors.As(err, &ge) || ge.File != crossed {
		t.Errorf("a later file got %v, want the first breach (in %s)", err, crossed)
	}
}

// TestParseExamples: the example repository's files pass the defaults.
func TestParseExamples(t *testing.T) {
	b := NewBudget(Limits{})
	err := filepath.WalkDir("../../examples/repo", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs, err := b.Parse(p, data)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return fmt.Errorf("%s: no documents", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExpansionCostMatchesExpanding: the costs computed without expanding
// are those of the expanded tree.
func TestExpansionCostMatchesExpanding(t *testing.T) {
	for _, data := range []string{
		laughs(3, 4), mapLaughs(3, 3), mergeLaughs(3, 2),
		"a: &a {b: &b [1, 2, {c: 3}], d: *b}\ne: [*a, *b, *a]\nf: {<<: *a, g: *b}\n",
		"a: &a x\nb: *a\n---\nc: &c [*c2]\n", // an undefined alias is a parse error
	} {
		b := NewBudget(Limits{})
		docs, err := b.Parse("x.yaml", []byte(data))
		if err != nil {
			var ge *Error
			if errors.As(err, &ge) {
				t.Errorf("%q: %v", data, err)
			}
		}
		var want, aliases int64
		for _, d := range docs {
			n, a := naive(d)
			want, aliases = want+n, aliases+a
		}
		got := b.nodes.Load() - aliases + b.aliasNodes.Load()
		if got != want {
			t.Errorf("%q: expanded nodes = %d (written %d, aliases %d, added %d), want %d", data, got, b.nodes.Load(), aliases, b.aliasNodes.Load(), want)
		}
	}
}

// naive counts the nodes of n with its aliases expanded by copying them, and
// the aliases as written.
func naive(n *yaml.Node) (nodes, aliases int64) {
	var count func(n *yaml.Node, written bool) int64
	count = func(n *yaml.Node, written bool) int64 {
		if n.Kind == yaml.AliasNode {
			if written {
				aliases++
			}
			return count(n.Alias, false)
		}
		c := int64(1)
		for _, ch := range n.Content {
			c += count(ch, written)
		}
		return c
	}
	return count(n, true), aliases
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4Mi": 4 << 20, "4MiB": 4 << 20, "512Ki": 512 << 10, "1Gi": 1 << 30, "1000": 1000} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "4MB", "lots", "99999999999Gi"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded, want an error", in)
		}
	}
}

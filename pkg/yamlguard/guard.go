package yamlguard

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"
)

// Budget is what one render may still read under its Limits. It is safe for
// concurrent use: files parsed in parallel draw on the same budget, and the
// file that crosses a render-wide limit is the one named.
type Budget struct {
	lim Limits
	// Usage so far.
	bytes, nodes, aliasNodes, docs atomic.Int64
	// first is the first render-wide breach: later files are refused with it
	// rather than with one error each.
	mu    sync.Mutex
	first *Error
}

// NewBudget returns the budget of one render under lim (zero fields take
// their defaults).
func NewBudget(lim Limits) *Budget {
	return &Budget{lim: lim.WithDefaults()}
}

// Limits returns the budget's limits, defaults filled in.
func (b *Budget) Limits() Limits { return b.lim }

// Check is Parse without the documents.
func (b *Budget) Check(name string, data []byte) error {
	_, err := b.Parse(name, data)
	return err
}

// Parse parses data, the content of the file name, into the content nodes of
// its non-empty documents (as intent.ParseDocuments does), charging the
// budget as it goes, one document at a time: a document over a limit is
// not kept, and the documents after it are not read. A breached limit is an
// *Error; a YAML syntax error is returned as the parser words it, with the
// documents read before it (the caller's decoder reports it in its own
// terms), except yaml.v3's own nesting limit, which is a depth *Error.
//
// Aliases are not expanded: the nodes and text their expansion would add
// (merge keys included) are computed from the nodes, once per anchor.
func (b *Budget) Parse(name string, data []byte) ([]*yaml.Node, error) {
	if err := b.spent(); err != nil {
		return nil, err
	}
	if n := int64(len(data)); n > b.lim.MaxFileSize {
		return nil, b.fileTooLarge(name, n, bytes.NewReader(data))
	}
	if used := b.bytes.Add(int64(len(data))); used > b.lim.MaxTotalSize {
		before := used - int64(len(data))
		return nil, b.breach(&Error{File: name, Line: lineAt(data, b.lim.MaxTotalSize-before), Limit: LimitSize,
			Msg: fmt.Sprintf("the render reads more than the %s of YAML it may read (size limit; set with --max-render-size)", FormatBytes(b.lim.MaxTotalSize))})
	}
	var docs []*yaml.Node
	for doc, err := range Documents(data) {
		if err != nil {
			if strings.Contains(err.Error(), "exceeded max depth") {
				return nil, &Error{File: name, Line: flowDepthLine(data, b.lim.MaxDepth), Limit: LimitDepth,
					Msg: fmt.Sprintf("maps and lists nest more than %d levels deep (depth limit; set with --max-yaml-depth)", b.lim.MaxDepth)}
			}
			return docs, err
		}
		if b.docs.Add(1) > b.lim.MaxDocuments {
			return nil, b.breach(&Error{File: name, Line: max(doc.Line, 1), Limit: LimitSize,
				Msg: fmt.Sprintf("the render holds more than %d YAML documents (size limit; set with --max-yaml-documents)", b.lim.MaxDocuments)})
		}
		w := walker{b: b, name: name, memo: map[*yaml.Node]cost{}}
		if _, err := w.walk(doc, 0); err != nil {
			return nil, err
		}
		if c := Content(doc); c != nil {
			docs = append(docs, c)
		}
	}
	return docs, nil
}

// CheckFileSize refuses a file of size bytes larger than MaxFileSize,
// reading at most MaxFileSize bytes of r to name the line where the limit
// falls (r may be nil: line 1).
func (b *Budget) CheckFileSize(name string, size int64, r io.Reader) error {
	if size <= b.lim.MaxFileSize {
		return nil
	}
	return b.fileTooLarge(name, size, r)
}

func (b *Budget) fileTooLarge(name string, size int64, r io.Reader) error {
	line := 1
	if r != nil {
		line = lineAtReader(r, b.lim.MaxFileSize)
	}
	return &Error{File: name, Line: line, Limit: LimitSize,
		Msg: fmt.Sprintf("the file is %s, more than the %s a file may be (size limit; set with --max-file-size)", FormatBytes(size), FormatBytes(b.lim.MaxFileSize))}
}

// SpentError is what a render's files get once a render-wide limit was
// crossed in another file: that file's *Error, which it unwraps to and
// whose message it repeats (so that callers can report it once).
type SpentError struct{ First *Error }

func (e *SpentError) Error() string { return e.First.Error() }
func (e *SpentError) Unwrap() error { return e.First }

// spent returns the first render-wide breach, if any, as a *SpentError.
func (b *Budget) spent() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first != nil {
		return &SpentError{First: b.first}
	}
	return nil
}

// breach records e as the render's first render-wide breach, and returns
// it, or the first one as a *SpentError when another file crossed first.
func (b *Budget) breach(e *Error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first == nil {
		b.first = e
		return e
	}
	return &SpentError{First: b.first}
}

// cost is what a node weighs once its aliases are expanded.
type cost struct {
	nodes  int64 // nodes, the node itself included
	text   int64 // bytes of scalar text
	height int   // maps and lists nested in it, itself included (0 for a scalar)
}

// saturation caps costs, which grow exponentially with nested aliases.
const saturation = 1 << 50

func sat(v int64) int64 { return min(v, saturation) }

// walker walks one document.
type walker struct {
	b    *Budget
	name string
	path []any
	// memo holds the expanded cost of anchored nodes, the only ones an
	// alias can point to; inProgress marks the anchors being expanded (an
	// alias inside its own anchor is a cycle).
	memo       map[*yaml.Node]cost
	inProgress map[*yaml.Node]bool
}

// walk checks n, which depth maps and lists enclose, as written: depth,
// nodes, and what each alias adds when expanded.
func (w *walker) walk(n *yaml.Node, depth int) (cost, error) {
	lim := w.b.lim
	if n.Kind != yaml.DocumentNode {
		if w.b.nodes.Add(1) > lim.MaxNodes {
			return cost{}, w.b.breach(&Error{File: w.name, Line: n.Line, Limit: LimitSize,
				Msg: fmt.Sprintf("the render holds more than %d YAML nodes (size limit; set with --max-yaml-nodes)", lim.MaxNodes)})
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		var c cost
		for _, ch := range n.Content {
			cc, err := w.walk(ch, depth)
			if err != nil {
				return c, err
			}
			c = add(c, cc, 0)
		}
		return c, nil
	case yaml.MappingNode, yaml.SequenceNode:
		if depth+1 > lim.MaxDepth {
			return cost{}, w.tooDeep(n, "")
		}
		c := cost{nodes: 1, height: 1}
		for i, ch := range n.Content {
			pushed := false
			if n.Kind == yaml.SequenceNode {
				w.path, pushed = append(w.path, i), true
			} else if i%2 == 1 {
				w.path, pushed = append(w.path, keyName(n.Content[i-1])), true
			}
			cc, err := w.walk(ch, depth+1)
			if pushed {
				w.path = w.path[:len(w.path)-1]
			}
			if err != nil {
				return c, err
			}
			c = add(c, cc, 1)
		}
		if n.Anchor != "" {
			w.memo[n] = c
		}
		return c, nil
	case yaml.AliasNode:
		if n.Alias == nil {
			return cost{nodes: 1}, nil
		}
		t, err := w.expanded(n.Alias, n)
		if err != nil {
			return cost{}, err
		}
		if depth+t.height > lim.MaxDepth {
			return cost{}, w.tooDeep(n, " through alias *"+n.Value)
		}
		if used := w.b.aliasNodes.Add(t.nodes); used > lim.MaxAliasNodes {
			return cost{}, w.b.breach(&Error{File: w.name, Line: n.Line, Limit: LimitAlias,
				Msg: fmt.Sprintf("alias expansion exceeds the limit: *%s expands to %d nodes (%d nodes > %d; set with --max-yaml-alias-nodes)", n.Value, t.nodes, used, lim.MaxAliasNodes)})
		}
		if used := w.b.bytes.Add(t.text); used > lim.MaxTotalSize {
			return cost{}, w.b.breach(&Error{File: w.name, Line: n.Line, Limit: LimitAlias,
				Msg: fmt.Sprintf("alias expansion exceeds the size limit: *%s copies %s of text, and the render may hold %s of YAML (set with --max-render-size)", n.Value, FormatBytes(t.text), FormatBytes(lim.MaxTotalSize))})
		}
		return t, nil
	default: // a scalar
		c := cost{nodes: 1, text: int64(len(n.Value))}
		if n.Anchor != "" {
			w.memo[n] = c
		}
		return c, nil
	}
}

// expanded is the cost of anchored node t with its aliases expanded, for
// alias a; a cycle is an alias error.
func (w *walker) expanded(t, a *yaml.Node) (cost, error) {
	if c, ok := w.memo[t]; ok {
		return c, nil
	}
	if w.inProgress[t] {
		return cost{}, &Error{File: w.name, Line: a.Line, Limit: LimitAlias,
			Msg: fmt.Sprintf("alias *%s refers to a node that holds it (an alias cycle)", a.Value)}
	}
	if w.inProgress == nil {
		w.inProgress = map[*yaml.Node]bool{}
	}
	w.inProgress[t] = true
	defer delete(w.inProgress, t)
	var c cost
	switch t.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		c = cost{nodes: 1, height: 1}
		for _, ch := range t.Content {
			cc, err := w.expanded(ch, a)
			if err != nil {
				return c, err
			}
			c = add(c, cc, 1)
			if c.height > w.b.lim.MaxDepth+1 {
				break // deep enough to refuse; the rest cannot lower it
			}
		}
	case yaml.AliasNode:
		if t.Alias != nil {
			var err error
			if c, err = w.expanded(t.Alias, a); err != nil {
				return c, err
			}
		}
	case yaml.DocumentNode:
		for _, ch := range t.Content {
			cc, err := w.expanded(ch, a)
			if err != nil {
				return c, err
			}
			c = add(c, cc, 0)
		}
	default:
		c = cost{nodes: 1, text: int64(len(t.Value))}
	}
	if t.Anchor != "" || t.Kind == yaml.AliasNode {
		w.memo[t] = c
	}
	return c, nil
}

// add adds child cost cc to c, cc nested inside c by up levels.
func add(c, cc cost, up int) cost {
	return cost{nodes: sat(c.nodes + cc.nodes), text: sat(c.text + cc.text), height: max(c.height, cc.height+up)}
}

func (w *walker) tooDeep(n *yaml.Node, how string) error {
	return &Error{File: w.name, Line: n.Line, Limit: LimitDepth, Path: append([]any(nil), w.path...),
		Msg: fmt.Sprintf("maps and lists nest more than %d levels deep%s (depth limit; set with --max-yaml-depth)", w.b.lim.MaxDepth, how)}
}

// keyName is a mapping key as a path element.
func keyName(k *yaml.Node) any {
	if k.Kind == yaml.ScalarNode {
		return k.Value
	}
	return "(" + strings.ToLower(kindName(k.Kind)) + " key)"
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "Map"
	case yaml.SequenceNode:
		return "List"
	case yaml.AliasNode:
		return "Alias"
	}
	return "Node"
}

// lineAt is the 1-based line holding byte offset off of data (the last line
// when off is past the end).
func lineAt(data []byte, off int64) int {
	off = max(0, min(off, int64(len(data))))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

// lineAtReader is lineAt over the first off bytes of r.
func lineAtReader(r io.Reader, off int64) int {
	line := 1
	buf := make([]byte, 64<<10)
	lr := io.LimitReader(r, off)
	for {
		n, err := lr.Read(buf)
		line += bytes.Count(buf[:n], []byte{'\n'})
		if err != nil {
			return line
		}
	}
}

// flowDepthLine finds the line where brackets and braces, counted outside
// quotes and comments, first nest deeper than limit: where the parser gave
// up on nesting. It is a reading of the bytes only, for the message; line 1
// when it finds none (block nesting).
func flowDepthLine(data []byte, limit int) int {
	depth, line := 0, 1
	var quote byte
	comment := false
	for i, c := range data {
		switch {
		case c == '\n':
			line++
			comment = false
		case comment:
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t'):
			comment = true
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return line
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return 1
}

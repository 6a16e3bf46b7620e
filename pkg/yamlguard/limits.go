// Package yamlguard bounds what YAML from a repository may cost before
// anything decodes it: the bytes of a file and of a whole render, the number
// of documents and nodes, how deeply maps and lists nest, and how much alias
// expansion (aliases and merge keys, which decoders such as kustomize's kyaml
// copy out in full) would add. It parses each document into yaml.v3 nodes,
// which keep an alias as a pointer to its anchor, and computes the cost of
// expanding aliases without expanding them, so that a "billion laughs" file
// of a few hundred bytes is refused in microseconds.
//
// A breach is an *Error naming the file, the line and the limit ("size",
// "depth" or "alias"); a YAML syntax error is left to the caller's decoder.
package yamlguard

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits bound the YAML of one render (one build of a kustomization tree).
// A zero field takes its default (see DefaultLimits); a negative one is an
// error (see Validate).
type Limits struct {
	// MaxFileSize is the largest file read, in bytes. Default 4 MiB, twice
	// the largest object the API server stores.
	MaxFileSize int64
	// MaxTotalSize bounds the bytes of YAML one render reads, over all its
	// files, plus the text that alias expansion would copy. Default 64 MiB.
	MaxTotalSize int64
	// MaxDepth is how deeply maps and lists may nest, aliases expanded.
	// Default 64: Istio objects and intents never nest beyond a dozen levels.
	MaxDepth int
	// MaxNodes bounds the YAML nodes (scalars, maps, lists, aliases) of one
	// render, as written. Default 1,000,000.
	MaxNodes int64
	// MaxAliasNodes bounds the nodes that expanding the aliases and merge
	// keys of one render would add. Default 100,000: a few anchors reused a
	// few times stay far below it, a billion laughs goes far above.
	MaxAliasNodes int64
	// MaxDocuments bounds the YAML documents (empty ones included) of one
	// render. Default 10,000.
	MaxDocuments int64
}

// Defaults of Limits.
const (
	DefaultMaxFileSize   = 4 << 20
	DefaultMaxTotalSize  = 64 << 20
	DefaultMaxDepth      = 64
	DefaultMaxNodes      = 1_000_000
	DefaultMaxAliasNodes = 100_000
	DefaultMaxDocuments  = 10_000
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:   DefaultMaxFileSize,
		MaxTotalSize:  DefaultMaxTotalSize,
		MaxDepth:      DefaultMaxDepth,
		MaxNodes:      DefaultMaxNodes,
		MaxAliasNodes: DefaultMaxAliasNodes,
		MaxDocuments:  DefaultMaxDocuments,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	l.MaxFileSize = cmp.Or(l.MaxFileSize, d.MaxFileSize)
	l.MaxTotalSize = cmp.Or(l.MaxTotalSize, d.MaxTotalSize)
	l.MaxDepth = cmp.Or(l.MaxDepth, d.MaxDepth)
	l.MaxNodes = cmp.Or(l.MaxNodes, d.MaxNodes)
	l.MaxAliasNodes = cmp.Or(l.MaxAliasNodes, d.MaxAliasNodes)
	l.MaxDocuments = cmp.Or(l.MaxDocuments, d.MaxDocuments)
	return l
}

// Validate refuses negative limits, naming the field.
func (l Limits) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxFileSize", l.MaxFileSize}, {"MaxTotalSize", l.MaxTotalSize}, {"MaxDepth", int64(l.MaxDepth)},
		{"MaxNodes", l.MaxNodes}, {"MaxAliasNodes", l.MaxAliasNodes}, {"MaxDocuments", l.MaxDocuments},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("yaml limits: %s is %d, want 0 (the default) or more", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// Limit names of Error.Limit: the word each message holds.
const (
	LimitSize  = "size"
	LimitDepth = "depth"
	LimitAlias = "alias"
)

// Error is a breached limit.
type Error struct {
	// File names the file (as the caller named it); Line is the 1-based
	// line where the limit was crossed.
	File string
	Line int
	// Limit is LimitSize, LimitDepth or LimitAlias.
	Limit string
	// Path leads to the node that crossed a depth limit: map keys
	// (strings) and list indices (ints), outermost first; nil otherwise.
	Path []any
	// Msg says what was crossed, with the limit and the flag that sets it;
	// it holds the word of Limit.
	Msg string
}

func (e *Error) Error() string {
	if len(e.Path) == 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, FormatPath(e.Path, 8), e.Msg)
}

// FormatPath prints a path as a.b[0].c, cut after max elements ("…").
func FormatPath(p []any, max int) string {
	var b strings.Builder
	for i, e := range p {
		if i == max {
			b.WriteString("…")
			break
		}
		switch e := e.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(e) + "]")
		default:
			s := fmt.Sprint(e)
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

// FormatBytes prints n bytes as "4 MiB", "1.5 KiB" or "100 bytes".
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize reads a byte count: digits with an optional suffix Ki, Mi, Gi
// (or KiB, MiB, GiB), as "4Mi" or "65536".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "B")
	mult := int64(1)
	for suffix, m := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if strings.HasSuffix(t, suffix) {
			t, mult = strings.TrimSuffix(t, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: want bytes, or a number with Ki, Mi or Gi", s)
	}
	return n * mult, nil
}

package fastpath

import (
	"bytes"
	"crypto/sha256"

	"github.com/meshintent/meshintent/pkg/canonical"
)

// ParsedFile is the objects of a resource file with the given content hash.
type ParsedFile struct {
	Sum  [sha256.Size]byte
	Objs []Packed
}

// Packed is a built object in the canonical encoding. The cache lives as
// long as the controller, so it keeps objects in this form: about a tenth
// of the memory of the maps, and decoding gives the deep copy a cache must
// hand out anyway.
type Packed struct {
	Obj    []byte
	Source string
	Line   int
}

// Pack encodes objs; ok is false when an object holds a value that is not
// JSON content, which then is not cached.
func Pack(objs []Object) (ps []Packed, ok bool) {
	// One allocation for all: the cache lives long, and many small ones
	// would be spread over pages the render's garbage leaves behind.
	ps = make([]Packed, len(objs))
	var buf []byte
	ends := make([]int, len(objs))
	for i, b := range objs {
		var err error
		if buf, err = canonical.Append(buf, b.Obj); err != nil {
			return nil, false
		}
		ends[i] = len(buf)
	}
	buf = bytes.Clone(buf)
	start := 0
	for i, b := range objs {
		ps[i] = Packed{Obj: buf[start:ends[i]:ends[i]], Source: b.Source, Line: b.Line}
		start = ends[i]
	}
	return ps, true
}

// Unpack decodes ps; ok is false when one does not decode (which would be
// a bug), so that the caller builds afresh.
func Unpack(ps []Packed) (objs []Object, ok bool) {
	objs = make([]Object, len(ps))
	for i, p := range ps {
		v, err := canonical.Decode(p.Obj)
		m, isMap := v.(map[string]any)
		if err != nil || !isMap {
			return nil, false
		}
		objs[i] = Object{Obj: m, Source: p.Source, Line: p.Line}
	}
	return objs, true
}

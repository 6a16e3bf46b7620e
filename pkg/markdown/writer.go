package markdown

import (
	"fmt"
	"io"
	"strings"
)

// Writer writes a Markdown document to an io.Writer and keeps the first
// error, so that a document is written line by line and checked once.
type Writer struct {
	w   io.Writer
	err error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Printf writes format with args unless an earlier write failed.
func (w *Writer) Printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}

// Table writes a table's header row, of the cells as written, and its
// delimiter row.
func (w *Writer) Table(header ...string) {
	w.Row(header...)
	w.Printf("|%s\n", strings.Repeat("---|", len(header)))
}

// Row writes one table row of the cells, which must already be escaped
// (Inline, Code).
func (w *Writer) Row(cells ...string) {
	w.Printf("| %s |\n", strings.Join(cells, " | "))
}

// Err is the first error a write returned.
func (w *Writer) Err() error { return w.err }

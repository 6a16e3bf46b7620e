package markdown

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer)
		want  string
	}{
		{
			name:  "a table is its header, delimiter and rows",
			write: func(w *Writer) { w.Table("Object", "Source"); w.Row("`a`", "`b`") },
			want:  "| Object | Source |\n|---|---|\n| `a` | `b` |\n",
		},
		{
			name:  "a one-column table",
			write: func(w *Writer) { w.Table("Note"); w.Row("x") },
			want:  "| Note |\n|---|\n| x |\n",
		},
		{
			name:  "printf writes as fmt does",
			write: func(w *Writer) { w.Printf("**%s** %d\n", "Drift", 3) },
			want:  "**Drift** 3\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := NewWriter(&b)
			tt.write(w)
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterKeepsTheFirstError(t *testing.T) {
	fw := &failWriter{n: 4}
	w := NewWriter(fw)
	w.Printf("ok\n")
	w.Row("too", "long")
	w.Printf("x") // would fit, but a write has failed: nothing more is written
	if err := w.Err(); err == nil || err.Error() != "disk full" {
		t.Errorf("Err() = %v, want disk full", err)
	}
	if fw.n != 1 {
		t.Errorf("%d bytes left, want 1: a write went through after the failure", fw.n)
	}
}

package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferConcurrentWritesAndReads writes from several goroutines while
// reading; run with -race it fails if Buffer is not safe, and it checks
// that no write is lost or torn.
func TestBufferConcurrentWritesAndReads(t *testing.T) {
	const writers, lines = 4, 200
	var (
		b  Buffer
		wg sync.WaitGroup
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range lines {
				if _, err := b.Write([]byte("line\n")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	got := b.String()
	if n := strings.Count(got, "line\n"); n != writers*lines || len(got) != writers*lines*len("line\n") {
		t.Errorf("buffer holds %d whole lines in %d bytes, want %d lines", n, len(got), writers*lines)
	}
}

package controller

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryReleaserCoalesces(t *testing.T) {
	var calls atomic.Int64
	m := &memoryReleaser{interval: 200 * time.Millisecond, free: func() { calls.Add(1) }}
	waitFor := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := calls.Load(); got != want {
			t.Fatalf("%d releases, want %d", got, want)
		}
	}

	m.release() // the first is served at once
	waitFor(1)
	for range 5 { // the next ones within the interval make one more, later
		m.release()
	}
	waitFor(2)
	time.Sleep(300 * time.Millisecond)
	if got := calls.Load(); got != 2 {
		t.Errorf("%d releases after the burst, want 2", got)
	}

	var off *memoryReleaser
	off.release() // a nil releaser is off
	(&memoryReleaser{free: func() { calls.Add(1) }}).release()
	time.Sleep(50 * time.Millisecond)
	if got := calls.Load(); got != 2 {
		t.Errorf("a disabled releaser released: %d calls", got)
	}
}

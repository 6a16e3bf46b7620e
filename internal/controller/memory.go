package controller

import (
	"runtime/debug"
	"sync"
	"time"
)

// memoryReleaser hands the heap a reconcile left behind back to the
// operating system. A GitOps controller works in bursts (a render, an apply
// or a full drift check of thousands of objects) and idles in between;
// without a release the Go runtime keeps the burst's heap resident until a
// later collection, which an idle process may not run for minutes. Releases
// are coalesced: at most one per interval, the last request always served.
type memoryReleaser struct {
	interval time.Duration
	free     func() // debug.FreeOSMemory, or a stand-in in tests

	mu      sync.Mutex
	last    time.Time
	pending bool
}

func newMemoryReleaser(interval time.Duration) *memoryReleaser {
	return &memoryReleaser{interval: interval, free: debug.FreeOSMemory}
}

// release asks for a release: now when the last one is an interval old,
// else at the end of the interval. A nil releaser or a zero interval does
// nothing.
func (m *memoryReleaser) release() {
	if m == nil || m.interval <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending {
		return
	}
	m.pending = true
	wait := max(m.interval-time.Since(m.last), 0)
	time.AfterFunc(wait, func() {
		m.mu.Lock()
		m.last, m.pending = time.Now(), false
		m.mu.Unlock()
		m.free()
	})
}

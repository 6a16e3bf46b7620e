package validate

import (
	"sync"
)

// engineCacheSize is how many compiled policy sets a process keeps: a
// controller following a few repositories compiles each one's policies
// once, not on every sync, while a compiled set (a few MiB) stays bounded.
const engineCacheSize = 4

// engines caches compiled policies by the digest of what they were loaded
// from (see bundle.digest), for the whole process.
var engines = &engineCache{}

// engineCache holds the most recently used compiled policy sets by digest.
// Only successes are kept: an error is returned to each caller afresh.
type engineCache struct {
	mu      sync.Mutex
	entries []cachedEngine // most recently used last
}

type cachedEngine struct {
	key string
	c   *compiled
}

// get returns the compiled set for b's digest, compiling it with fresh on a
// miss. A bundle without a digest is compiled and not kept.
func (ec *engineCache) get(b *bundle, fresh func() (*compiled, error)) (*compiled, error) {
	if b.digest == nil {
		return fresh()
	}
	key := string(b.digest.Sum(nil))
	ec.mu.Lock()
	for i, e := range ec.entries {
		if e.key == key {
			copy(ec.entries[i:], ec.entries[i+1:])
			ec.entries[len(ec.entries)-1] = e
			ec.mu.Unlock()
			return e.c, nil
		}
	}
	ec.mu.Unlock()
	// Compile outside the lock: two syncs compiling the same set at once
	// both compile, and the first to finish is kept.
	c, err := fresh()
	if err != nil {
		return nil, err
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	for _, e := range ec.entries {
		if e.key == key {
			return e.c, nil
		}
	}
	if len(ec.entries) == engineCacheSize {
		ec.entries = ec.entries[1:]
	}
	ec.entries = append(ec.entries, cachedEngine{key: key, c: c})
	return c, nil
}

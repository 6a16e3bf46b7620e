package webhook

import (
	"container/heap"
	"sync"
	"time"
)

// replayCache remembers delivery keys until they expire. It holds at most
// max keys; when full, the key closest to expiry (the oldest, for keys kept
// for the same time) is evicted. It is safe for concurrent use.
//
// A delivery has one or more keys (the digest of what its signature covers,
// and its delivery ID when it has one): it is new only when none of them is
// held.
type replayCache struct {
	mu      sync.Mutex
	max     int
	expires map[string]time.Time
	queue   expiryQueue
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, expires: make(map[string]time.Time)}
}

// add reports whether a delivery with these keys is new, that is none of
// them is recorded (or recorded but expired before now), and if so records
// every key until expires. A delivery that is not new records nothing, so
// a replay cannot extend the life of a key or claim a key it did not hold.
// Checking and recording are one step, so of two concurrent deliveries
// sharing a key only one is new.
func (c *replayCache) add(now, expires time.Time, keys ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drop expired keys: they are at the front of the queue.
	for len(c.queue) > 0 && c.queue[0].expires.Before(now) {
		delete(c.expires, heap.Pop(&c.queue).(expiryEntry).key)
	}
	for _, key := range keys {
		if _, ok := c.expires[key]; ok {
			return false
		}
	}
	for _, key := range keys {
		if _, ok := c.expires[key]; ok {
			continue // a delivery listing one key twice
		}
		for len(c.queue) >= c.max {
			delete(c.expires, heap.Pop(&c.queue).(expiryEntry).key)
		}
		c.expires[key] = expires
		heap.Push(&c.queue, expiryEntry{key: key, expires: expires})
	}
	return true
}

// len is the number of keys held, expired ones included until the next add.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.expires)
}

type expiryEntry struct {
	key     string
	expires time.Time
}

// expiryQueue is a min-heap of entries by expiry time.
type expiryQueue []expiryEntry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].expires.Before(q[j].expires) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(expiryEntry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

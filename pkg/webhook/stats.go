package webhook

import (
	"maps"
	"sync"
)

// Reason says why a request was rejected.
type Reason string

// Rejection reasons, as counted in Stats.Rejected.
const (
	ReasonNotFound         Reason = "not_found"          // 404: unknown path
	ReasonMethodNotAllowed Reason = "method_not_allowed" // 405: not a POST
	ReasonUnsigned         Reason = "unsigned"           // 401: no signature or token
	ReasonBadSignature     Reason = "bad_signature"      // 401: wrong or malformed signature, token or timestamp
	ReasonStaleTimestamp   Reason = "stale_timestamp"    // 401: generic timestamp outside the replay window
	ReasonTooLarge         Reason = "too_large"          // 413: body over MaxBodyBytes
	ReasonUnreadable       Reason = "unreadable"         // 400: the body could not be read
	ReasonMalformed        Reason = "malformed"          // 400: authenticated but undecodable
	ReasonReplayed         Reason = "replayed"           // 409: delivery ID already received
)

// Stats are a Receiver's counters since it was created, for metrics.
type Stats struct {
	// Accepted counts pushes passed to the Trigger.
	Accepted uint64
	// Woken sums the IntentSyncs the Trigger reported waking.
	Woken uint64
	// Ignored counts authenticated deliveries that are not pushes, pings
	// included.
	Ignored uint64
	// Rejected counts refused requests by reason; reasons never seen are
	// absent.
	Rejected map[Reason]uint64
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() Stats {
	r.stats.mu.Lock()
	defer r.stats.mu.Unlock()
	s := r.stats.s
	s.Rejected = maps.Clone(s.Rejected)
	if s.Rejected == nil {
		s.Rejected = map[Reason]uint64{}
	}
	return s
}

type stats struct {
	mu sync.Mutex
	s  Stats
}

// accepted counts a push that woke woken (≥ 0) IntentSyncs.
func (st *stats) accepted(woken int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Accepted++
	st.s.Woken += uint64(woken)
}

func (st *stats) ignored() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Ignored++
}

func (st *stats) rejected(reason Reason) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.s.Rejected == nil {
		st.s.Rejected = make(map[Reason]uint64)
	}
	st.s.Rejected[reason]++
}

package ui

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// keepAlive is how often an idle event stream gets a comment, so proxies
// and browsers keep it open.
const keepAlive = 15 * time.Second

// hub fans IntentSync changes out to the open event streams.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

// subscriber is one event stream: changes of one IntentSync (name set), of
// a namespace, or of all the namespaces allowed lets through.
type subscriber struct {
	namespace, name string
	allowed         func(namespace string) bool
	ch              chan string
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(s *subscriber) func() {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

// publish tells the matching subscribers that namespace/name changed; a
// subscriber that has not read the last change yet is not blocked on (one
// pending change is enough to reload).
func (h *hub) publish(namespace, name string) {
	h.mu.Lock()
	subs := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		if (s.namespace == "" || s.namespace == namespace) && (s.name == "" || s.name == name) {
			subs = append(subs, s)
		}
	}
	h.mu.Unlock()
	for _, s := range subs {
		if s.allowed != nil && !s.allowed(namespace) {
			continue
		}
		select {
		case s.ch <- namespace + "/" + name:
		default:
		}
	}
}

// events streams "change" events (data: namespace/name) for the IntentSync
// ns/name, or for every IntentSync the caller may see, until the client
// goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, name := q.Get("ns"), q.Get("name")
	a := accessFrom(r.Context())
	sub := &subscriber{namespace: ns, name: name, ch: make(chan string, 1)}
	if ns != "" {
		ok, err := a.canGet(r.Context(), ns)
		if err != nil {
			http.Error(w, "access review failed", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
	} else {
		sub.allowed = a.namespaceFilter(r.Context())
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	unsubscribe := s.hub.subscribe(sub)
	defer unsubscribe()
	// The first event says the stream is open (the page shows "live").
	fmt.Fprint(w, "retry: 2000\nevent: open\ndata: ok\n\n")
	flusher.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case id := <-sub.ch:
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", id) // namespace/name: DNS labels, no line breaks
		}
		flusher.Flush()
	}
}

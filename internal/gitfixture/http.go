package gitfixture

import (
	"errors"
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server serves one repository over Git's smart HTTP protocol with the real
// git http-backend (through net/http/cgi) on 127.0.0.1. It can be stopped,
// so that fetches fail as with a server that is down, and started again on
// the same port.
type Server struct {
	// URL is the repository's http:// URL.
	URL string
	// Requests counts the requests served, across restarts.
	Requests atomic.Int64

	t       testing.TB
	addr    string
	handler http.Handler

	mu  sync.Mutex
	srv *http.Server
}

// Serve starts serving the repository whose work tree (or bare directory)
// is repoDir, e.g. Repo.Dir. Commits made in repoDir are served at once.
// The server is stopped when the test ends.
func Serve(t testing.TB, repoDir string) *Server {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{
			// The parent directory is the project root, so the repository
			// is served at /<base name> (http-backend finds <dir>/.git).
			"GIT_PROJECT_ROOT=" + filepath.Dir(abs),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_SYSTEM=/dev/null",
		},
		InheritEnv: []string{"PATH"},
		Stderr:     logWriter{t},
	}
	s := &Server{t: t}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		backend.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr + "/" + filepath.Base(abs)
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// Stop closes the listener and every open connection; fetches fail with
// "connection refused" until Start. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	s.srv = nil
}

// Start serves again on the same address after Stop. It retries for a few
// seconds while the port is still held by the closing listener.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.serve(l)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("listening again on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Logf("git http server on %s: %v", s.addr, err)
		}
	}()
}

// logWriter sends git http-backend's stderr to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("git http-backend: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

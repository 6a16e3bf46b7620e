package gitfixture

import (
	"errors"
	"fmt"
	"io"
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

// Handler serves every repository below root over Git's smart HTTP
// protocol with the real git http-backend (through net/http/cgi): the
// repository in root/<name> (a work tree or a bare directory) is served at
// /<name>. git runs with Env; its standard error goes to stderr, which may
// be nil to drop it.
func Handler(root string, stderr io.Writer) (http.Handler, error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("git http root %s: %w", root, err)
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: append(Env(),
			"GIT_PROJECT_ROOT="+abs,
			"GIT_HTTP_EXPORT_ALL=1",
		),
		InheritEnv: []string{"PATH"},
		Stderr:     stderr,
	}, nil
}

// Server serves one repository over smart HTTP (see Handler) on
// 127.0.0.1. It can be stopped, so that fetches fail as with a server that
// is down, and started again on the same port.
type Server struct {
	// URL is the repository's http:// URL.
	URL string
	// Requests counts the requests served, across restarts.
	Requests atomic.Int64

	t       testing.TB // nil for a server made by ServeDir
	addr    string
	handler http.Handler

	mu  sync.Mutex
	srv *http.Server
}

// ServeDir starts serving the repository whose work tree (or bare
// directory) is repoDir at <URL>/<base name of repoDir>. Commits made in
// repoDir are served at once. http-backend's standard error goes to stderr
// (nil drops it). The caller stops the server with Stop.
func ServeDir(repoDir string, stderr io.Writer) (*Server, error) {
	return serveDir(repoDir, stderr, nil)
}

// serveDir is ServeDir that logs server errors to t when it is not nil.
func serveDir(repoDir string, stderr io.Writer, t testing.TB) (*Server, error) {
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, fmt.Errorf("serving %s: %w", repoDir, err)
	}
	// The parent directory is the project root, so the repository is
	// served at /<base name> (http-backend finds <dir>/.git).
	backend, err := Handler(filepath.Dir(abs), stderr)
	if err != nil {
		return nil, err
	}
	s := &Server{t: t}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		backend.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving %s: %w", repoDir, err)
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr + "/" + filepath.Base(abs)
	s.serve(l)
	return s, nil
}

// Serve is ServeDir for a test: http-backend's standard error goes to the
// test log, and the server is stopped when the test ends.
func Serve(t testing.TB, repoDir string) *Server {
	t.Helper()
	s, err := serveDir(repoDir, logWriter{t}, t)
	if err != nil {
		t.Fatal(err)
	}
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

// Restart serves again on the same address after Stop. It retries for a
// few seconds while the port is still held by the closing listener.
// Restarting a running server does nothing.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.serve(l)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listening again on %s: %w", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Start is Restart that fails the test on error; it is for servers made
// by Serve.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.Restart(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && s.t != nil {
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

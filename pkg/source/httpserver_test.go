package source

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// httpAuth is what a test git server demands.
type httpAuth struct {
	// username and password enable basic auth.
	username, password string
	// token enables bearer auth.
	token string
}

// gitHTTPServer serves the repositories under a root directory over the
// smart HTTP protocol with the real git http-backend.
type gitHTTPServer struct {
	URL string
	// requests counts all requests.
	requests atomic.Int64
	// uploadPacks counts POSTs to git-upload-pack, i.e. object downloads.
	uploadPacks atomic.Int64
}

// newGitHTTPServer starts a server on 127.0.0.1 for the repositories under
// root. A zero auth serves anonymously.
func newGitHTTPServer(t *testing.T, root string, auth httpAuth) *gitHTTPServer {
	t.Helper()
	backend, err := gitfixture.Handler(root, testLogWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	s := &gitHTTPServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if !authorized(r, auth, w) {
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			s.uploadPacks.Add(1)
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// authorized checks the request's credentials, answering 401 when they
// are missing and 403 when they are wrong.
func authorized(r *http.Request, auth httpAuth, w http.ResponseWriter) bool {
	switch {
	case auth.token != "":
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="git"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return false
		}
		if got != auth.token {
			http.Error(w, "bad token", http.StatusForbidden)
			return false
		}
	case auth.username != "":
		user, pass, ok := r.BasicAuth()
		if !ok || user != auth.username || pass != auth.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return false
		}
	}
	return true
}

// newHangingServer starts a server on 127.0.0.1 that accepts requests and
// never answers until the client goes away.
func newHangingServer(t *testing.T) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv.URL
}

// testLogWriter sends a subprocess's stderr to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

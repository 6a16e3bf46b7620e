package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// tokenCookie holds the bearer token the login form was given.
const tokenCookie = "meshintent-token"

// maxCachedDecisions bounds the decision cache; past it the cache is reset.
const maxCachedDecisions = 4096

// authorizer authenticates bearer tokens with TokenReview and authorizes
// with SubjectAccessReview, caching both for a short TTL per token.
type authorizer struct {
	c   client.Client
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	decisions map[string]decision
}

type decision struct {
	user    *authnv1.UserInfo // for token reviews; nil when unauthenticated
	allowed bool              // for access reviews
	expires time.Time
}

func newAuthorizer(c client.Client, ttl time.Duration, now func() time.Time) *authorizer {
	return &authorizer{c: c, ttl: ttl, now: now, decisions: map[string]decision{}}
}

func (a *authorizer) cached(key string) (decision, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.decisions[key]
	if !ok || a.now().After(d.expires) {
		return decision{}, false
	}
	return d, true
}

func (a *authorizer) store(key string, d decision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.decisions) >= maxCachedDecisions {
		a.decisions = map[string]decision{}
	}
	d.expires = a.now().Add(a.ttl)
	a.decisions[key] = d
}

// tokenKey identifies a token in the cache without keeping it.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// authenticate reviews token; a nil user means it is not valid.
func (a *authorizer) authenticate(ctx context.Context, token string) (*authnv1.UserInfo, error) {
	key := "authn/" + tokenKey(token)
	if d, ok := a.cached(key); ok {
		return d.user, nil
	}
	tr := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}
	if err := a.c.Create(ctx, tr); err != nil {
		return nil, fmt.Errorf("reviewing the token: %w", err)
	}
	var user *authnv1.UserInfo
	if tr.Status.Authenticated {
		u := tr.Status.User
		user = &u
	}
	a.store(key, decision{user: user})
	return user, nil
}

// allowed asks whether user may verb intentsyncs in namespace (all
// namespaces when empty).
func (a *authorizer) allowed(ctx context.Context, token string, user *authnv1.UserInfo, verb, namespace string) (bool, error) {
	key := "authz/" + tokenKey(token) + "/" + verb + "/" + namespace
	if d, ok := a.cached(key); ok {
		return d.allowed, nil
	}
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: namespace, Verb: verb, Group: v1alpha1.Group, Resource: "intentsyncs",
		},
	}}
	if err := a.c.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("reviewing access: %w", err)
	}
	a.store(key, decision{allowed: sar.Status.Allowed})
	return sar.Status.Allowed, nil
}

// access is what a request may see.
type access struct {
	// all is true without Auth, or for a user who may list IntentSyncs in
	// every namespace.
	all bool
	// user and token are the authenticated caller (Auth only).
	user  *authnv1.UserInfo
	token string
	auth  *authorizer
}

// canGet reports whether the caller may get IntentSyncs in namespace.
func (a access) canGet(ctx context.Context, namespace string) (bool, error) {
	if a.all || a.auth == nil {
		return true, nil
	}
	return a.auth.allowed(ctx, a.token, a.user, "get", namespace)
}

// namespaceFilter returns a predicate on namespaces for the list page and
// the event streams: all, or those the caller may get IntentSyncs in
// (decided once per namespace).
func (a access) namespaceFilter(ctx context.Context) func(string) bool {
	if a.all || a.auth == nil {
		return func(string) bool { return true }
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(ns string) bool {
		mu.Lock()
		defer mu.Unlock()
		if ok, done := seen[ns]; done {
			return ok
		}
		ok, err := a.auth.allowed(ctx, a.token, a.user, "get", ns)
		seen[ns] = ok && err == nil
		return seen[ns]
	}
}

type accessKey struct{}

func accessFrom(ctx context.Context) access {
	a, _ := ctx.Value(accessKey{}).(access)
	return a
}

// bearerToken returns the request's token: the Authorization header, else
// the login cookie.
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(tokenCookie); err == nil {
		return c.Value
	}
	return ""
}

// authenticated wraps a page: without Auth it runs with full access; with
// it, a missing or invalid token gets 401 (the login page), and the page
// itself decides 403.
func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.auth == nil {
			h(w, r.WithContext(context.WithValue(r.Context(), accessKey{}, access{all: true})))
			return
		}
		token := bearerToken(r)
		if token == "" {
			s.unauthorized(w, r, "")
			return
		}
		user, err := s.auth.authenticate(r.Context(), token)
		if err != nil {
			s.opts.Logger.Error(err, "token review failed")
			s.fail(w, r, http.StatusServiceUnavailable, "The API server could not review the token; try again.")
			return
		}
		if user == nil {
			s.unauthorized(w, r, "The token is not valid (expired, revoked or for another cluster).")
			return
		}
		a := access{user: user, token: token, auth: s.auth}
		all, err := s.auth.allowed(r.Context(), token, user, "list", "")
		if err != nil {
			s.opts.Logger.Error(err, "access review failed")
			s.fail(w, r, http.StatusServiceUnavailable, "The API server could not review access; try again.")
			return
		}
		a.all = all
		h(w, r.WithContext(context.WithValue(r.Context(), accessKey{}, a)))
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="meshintent"`)
	if r.URL.Path == "/events" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.render(w, http.StatusUnauthorized, "login.html", loginData{page: page{Title: "Sign in"}, Message: msg, Next: r.URL.RequestURI()})
}

type loginData struct {
	page
	Message string
	Next    string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login.html", loginData{page: page{Title: "Sign in"}, Next: safeNext(r.URL.Query().Get("next"))})
}

// login stores the token from the form in an HttpOnly cookie (as the
// Kubernetes Dashboard does) and goes back to the page asked for.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		s.render(w, http.StatusUnauthorized, "login.html", loginData{page: page{Title: "Sign in"}, Message: "Paste a token.", Next: safeNext(r.PostForm.Get("next"))})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this server: a path, never
// "//host" or a URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

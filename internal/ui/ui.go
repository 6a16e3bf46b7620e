// Package ui is meshintent's read-only web UI: the list of IntentSyncs, the
// page of one (conditions, history, objects and their drift, policy
// results, drift reports) and the traffic graph of each of its services,
// drawn by pkg/graph from the live VirtualServices and DestinationRules of
// its inventory. Pages update by Server-Sent Events when an IntentSync
// changes, and work without JavaScript.
//
// It serves two ways: `reconciler ui` (the caller's kubeconfig, on
// loopback, no authentication of its own) and `reconciler run
// --ui-bind-address` (Options.Auth: each request's bearer token is checked
// with TokenReview and each page authorized with SubjectAccessReview).
// Nothing here writes to the cluster; Secrets are never read.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"reflect"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows only the UI's own CSS and script: no inline
// script or style, no frames, no other origin.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; script-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Options configure New.
type Options struct {
	// Config reaches the API server: it lists and watches IntentSyncs and
	// reads the VirtualServices and DestinationRules of their inventories
	// (and, with Auth, creates TokenReviews and SubjectAccessReviews).
	Config *rest.Config
	// Namespace limits the UI to the IntentSyncs of one namespace; empty
	// shows all.
	Namespace string
	// Auth requires a bearer token on every request (the Authorization
	// header, or the cookie the login form sets), authenticated with
	// TokenReview; each page is authorized with SubjectAccessReview (get
	// intentsyncs in its namespace; the list shows the namespaces the user
	// may get IntentSyncs in). Without it every request is served with the
	// identity of Config: for `reconciler ui` on loopback.
	Auth bool
	// AuthCacheTTL is how long a token's review and access decisions are
	// reused; zero means 10s.
	AuthCacheTTL time.Duration
	// GitCacheDir, when set, lets the detail page fetch a revision that is
	// fetched but not applied, or failed, render it and draw its graphs
	// next to the applied ones. A repository that needs credentials
	// (spec.source.secretRef) is not fetched: the UI reads no Secret.
	// Empty turns this off.
	GitCacheDir string
	// Logger logs failures; the zero value discards.
	Logger logr.Logger
	// Now is the clock for ages; nil means time.Now.
	Now func() time.Time
}

// Server is the UI: an http.Handler reading IntentSyncs from an informer
// cache of its own.
type Server struct {
	opts   Options
	cache  cache.Cache
	reader client.Client // uncached: VirtualServices, DestinationRules, reviews
	auth   *authorizer
	hub    *hub
	tmpl   *template.Template
	mux    *http.ServeMux
	synced chan struct{}
	// revisions renders pending revisions; nil without GitCacheDir.
	revisions *revisions
}

// New sets up a Server; Start runs its cache.
func New(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("ui: no API server config")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	if opts.AuthCacheTTL == 0 {
		opts.AuthCacheTTL = 10 * time.Second
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	copts := cache.Options{Scheme: scheme, ByObject: map[client.Object]cache.ByObject{
		// Managed fields are most of an object and never shown.
		&v1alpha1.IntentSync{}: {Transform: cache.TransformStripManagedFields()},
	}}
	if opts.Namespace != "" {
		copts.DefaultNamespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	c, err := cache.New(opts.Config, copts)
	if err != nil {
		return nil, fmt.Errorf("ui: creating cache: %w", err)
	}
	direct, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("ui: creating client: %w", err)
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parsing templates: %w", err)
	}
	s := &Server{opts: opts, cache: c, reader: direct, hub: newHub(), tmpl: tmpl, mux: http.NewServeMux(), synced: make(chan struct{})}
	if opts.Auth {
		s.auth = newAuthorizer(direct, opts.AuthCacheTTL, opts.Now)
	}
	if opts.GitCacheDir != "" {
		if s.revisions, err = newRevisions(opts.GitCacheDir); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static") // the embedded directory exists
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("GET /{$}", s.authenticated(s.listPage))
	s.mux.Handle("GET /intentsyncs/{namespace}/{name}", s.authenticated(s.detailPage))
	s.mux.Handle("GET /intentsyncs/{namespace}/{name}/graph/{vsnamespace}/{vsname}", s.authenticated(s.graphSVG))
	s.mux.Handle("GET /events", s.authenticated(s.events))
}

// ServeHTTP serves the UI with its security headers on every response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Start runs the IntentSync informer until ctx is done, publishing each
// change to the event streams. It returns once the cache stopped; call
// WaitForSync to know it is ready.
func (s *Server) Start(ctx context.Context) error {
	inf, err := s.cache.GetInformer(ctx, &v1alpha1.IntentSync{})
	if err != nil {
		return fmt.Errorf("ui: IntentSync informer: %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.publish(obj) },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1alpha1.IntentSync)
			n, ok2 := newObj.(*v1alpha1.IntentSync)
			if ok1 && ok2 && o.Generation == n.Generation && reflect.DeepEqual(o.Status, n.Status) {
				return // nothing the pages show changed
			}
			s.publish(newObj)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			s.publish(obj)
		},
	}); err != nil {
		return fmt.Errorf("ui: watching IntentSyncs: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.cache.Start(ctx) }()
	if s.cache.WaitForCacheSync(ctx) {
		close(s.synced)
	}
	return <-errc
}

// WaitForSync waits until the cache holds every IntentSync, or ctx ends.
func (s *Server) WaitForSync(ctx context.Context) error {
	select {
	case <-s.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ui: waiting for the IntentSync cache: %w", ctx.Err())
	}
}

func (s *Server) publish(obj any) {
	if o, ok := obj.(*v1alpha1.IntentSync); ok {
		s.hub.publish(o.Namespace, o.Name)
	}
}

// Serve runs the cache and serves the UI on l until ctx is done, then shuts
// down: open event streams are closed.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cacheErr := make(chan error, 1)
	go func() { cacheErr <- s.Start(ctx) }()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		cancel()
		return errors.Join(fmt.Errorf("ui server: %w", err), <-cacheErr)
	case err := <-cacheErr:
		_ = srv.Close()
		if err != nil {
			return err
		}
		return nil
	case <-ctx.Done():
		shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		err := srv.Shutdown(shutdown) // event streams end with ctx (BaseContext)
		return errors.Join(err, <-cacheErr)
	}
}

// Runnable is a controller-runtime manager.Runnable serving the UI on l on
// every replica (no leader election needed: it only reads).
func (s *Server) Runnable(l net.Listener) interface {
	Start(context.Context) error
	NeedLeaderElection() bool
} {
	return runnable{s: s, l: l}
}

type runnable struct {
	s *Server
	l net.Listener
}

func (r runnable) Start(ctx context.Context) error { return r.s.Serve(ctx, r.l) }
func (r runnable) NeedLeaderElection() bool        { return false }

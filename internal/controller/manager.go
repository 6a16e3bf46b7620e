package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
	gitsource "github.com/meshintent/meshintent/pkg/source"
	"github.com/meshintent/meshintent/pkg/webhook"
)

// DefaultLeaderElectionID is the name of the leader election Lease.
const DefaultLeaderElectionID = "meshintent-reconciler"

// eventSource is the component name on the controller's Events.
const eventSource = "meshintent-reconciler"

// Options configure NewManager.
type Options struct {
	// Config reaches the API server.
	Config *rest.Config
	// Namespace restricts the IntentSyncs (and Secrets) watched to one
	// namespace; empty watches all. Applied objects are watched in every
	// namespace either way.
	Namespace string
	// MetricsAddr serves Prometheus metrics at /metrics; "0" or empty turns
	// it off.
	MetricsAddr string
	// HealthProbeAddr serves /healthz and /readyz; empty turns it off.
	HealthProbeAddr string
	// PprofAddr serves Go's profiles at /debug/pprof/; empty or "0" turns
	// it off.
	PprofAddr string
	// WebhookAddr serves the push webhook receiver (webhook.PathGitHub,
	// PathGitLab, PathGeneric); empty turns it off. It is served on every
	// replica, not only the leader.
	WebhookAddr string
	// WebhookSecret authenticates webhook deliveries; required with
	// WebhookAddr.
	WebhookSecret []byte
	// LeaderElection makes replicas elect one that reconciles.
	LeaderElection bool
	// LeaderElectionNamespace holds the Lease; empty means the namespace
	// the pod runs in.
	LeaderElectionNamespace string
	// LeaderElectionID names the Lease; empty means DefaultLeaderElectionID,
	// or with WatchLabelSelector a name derived from the selector (see
	// ShardLeaderElectionID), so that each shard elects its own leader.
	LeaderElectionID string
	// WatchLabelSelector, when set, shards the controller: only IntentSyncs
	// whose labels match it (standard label selector syntax, e.g.
	// "sharding.meshintent.io/key=shard1" or "!sharding.meshintent.io/key")
	// are cached, reconciled, reported on and triggered by webhooks. Empty
	// reconciles them all.
	WatchLabelSelector string
	// CacheDir holds the Git cache; required.
	CacheDir string
	// Concurrent is how many IntentSyncs are reconciled at once; below 1
	// means 4.
	Concurrent int
	// InventoryNamespace holds the inventory ConfigMaps; empty means
	// apply.DefaultInventoryNamespace.
	InventoryNamespace string
	// Logger logs; the zero value discards.
	Logger logr.Logger
	// MemoryReleaseInterval, when positive, returns the heap each sync
	// reconcile leaves behind to the operating system (a forced collection
	// and scavenge, debug.FreeOSMemory), at most once per interval. The
	// controller works in bursts and idles in between; without it the Go
	// runtime keeps a burst's heap resident until a later collection.
	MemoryReleaseInterval time.Duration

	// LeaseDuration is how long replicas wait after the leader's last
	// renewal before taking the Lease over; RenewDeadline is how long the
	// leader keeps trying to renew before it gives the lead up; RetryPeriod
	// is how often replicas try to acquire or renew. Zero takes
	// controller-runtime's default (15s, 10s, 2s); LeaseDuration must
	// exceed RenewDeadline, and RenewDeadline a RetryPeriod and a fifth.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Fence is the controller's tenancy fence: every IntentSync is fenced
	// to at most its namespaces, external hosts and shared gateways (see
	// Fence.For); the zero value leaves each IntentSync its own fence.
	Fence Fence
	// DefaultServiceAccount is impersonated by the IntentSyncs that set no
	// spec.serviceAccountName (fleet.go); empty lets them act as the
	// controller.
	DefaultServiceAccount string
	// LiveChecks runs the live policy checks (policies/live.rego) in each
	// build, reading Services, Pods, Gateways and VirtualServices from the
	// API server (see liveData). Off by default: with it, a route to a
	// Service that is not deployed yet is denied.
	LiveChecks bool
	// YAMLLimits bound the YAML each render reads (see render.Options.Limits;
	// zero fields take yamlguard's defaults).
	YAMLLimits render.Limits
	// skipNameValidation lets tests start several managers in one process.
	skipNameValidation bool
}

// Manager is a controller-runtime manager running the IntentSync sync and
// drift controllers, probes, metrics and the webhook receiver.
type Manager struct {
	manager.Manager
	// Reconciler is the IntentSync reconciler both controllers run.
	Reconciler *IntentSyncReconciler
	// Kinds are the managed kinds watched for drift (Namespace and the
	// allowed Istio kinds the API server serves).
	Kinds []schema.GroupVersionKind
	// LeaderElectionID is the name of the Lease this replica elects its
	// leader on (Options.LeaderElectionID or the shard's default).
	LeaderElectionID string

	webhook net.Listener
	// reports runs the scheduled drift reports (report_scheduler.go).
	reports *reportScheduler
}

// NewManager sets up a manager for opts. Call Start to run it; until then a
// WebhookAddr is already listening (see WebhookAddr), and Close releases it
// when Start is never called.
func NewManager(opts Options) (*Manager, error) {
	if opts.Config == nil {
		return nil, errors.New("no API server config")
	}
	if opts.CacheDir == "" {
		return nil, errors.New("no Git cache directory")
	}
	if opts.WebhookAddr != "" && len(opts.WebhookSecret) == 0 {
		return nil, errors.New("the webhook receiver needs a secret")
	}
	if opts.Concurrent < 1 {
		opts.Concurrent = 4
	}
	shard, err := shardSelector(opts.WatchLabelSelector)
	if err != nil {
		return nil, err
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = shardLeaseName(shard)
	}
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	registerMetrics()

	// The scheme holds only the typed objects the controller reads and
	// writes (ConfigMaps, Events, Namespaces, Secrets and IntentSyncs); the
	// managed objects go through unstructured and metadata clients.
	scheme := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	// pkg/apply must read the API server, not a cache: a client of its own.
	direct, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	kinds, err := managedKinds(direct.RESTMapper())
	if err != nil {
		return nil, err
	}

	// Watch only what meshintent manages: memory stays flat in the number
	// of objects others own. Metadata is all the drift controller needs.
	managed := labels.SelectorFromSet(labels.Set{manifest.ManagedByLabel: manifest.ManagedByValue})
	cacheOpts := cache.Options{ByObject: map[client.Object]cache.ByObject{}}
	if opts.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	for _, gvk := range kinds {
		by := cache.ByObject{Label: managed, Transform: dropFieldSets}
		if opts.Namespace != "" && gvk.Kind != "Namespace" {
			by.Namespaces = map[string]cache.Config{cache.AllNamespaces: {}}
		}
		cacheOpts.ByObject[metadataOf(gvk)] = by
	}
	// A shard caches only its own IntentSyncs (shard.go).
	shardCache(&cacheOpts, shard)

	mopts := ctrl.Options{
		Scheme: scheme,
		Cache:  cacheOpts,
		// Secrets are read when needed, never cached: a cluster's Secrets
		// (Helm releases among them) can be large, and only the few that
		// IntentSyncs name are of interest.
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Logger:                        opts.Logger,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Controller: config.Controller{
			MaxConcurrentReconciles: opts.Concurrent,
			SkipNameValidation:      &opts.skipNameValidation,
		},
	}
	if err := opts.leaseTimings(&mopts); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(opts.Config, mopts)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("cache not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}

	fetcher, err := gitsource.NewFetcher(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	r := &IntentSyncReconciler{
		Client: mgr.GetClient(),
		// Another shard's IntentSyncs are not in the cache; ownership
		// checks read them from the API server.
		APIReader: mgr.GetAPIReader(),
		Apply: apply.NewManager(direct, apply.Options{
			InventoryNamespace: opts.InventoryNamespace,
			Concurrency:        apply.DefaultConcurrency,
			// The drift watches' cache answers which objects are certainly
			// unchanged, so a no-op reconcile lists nothing from the API
			// server.
			MetadataReader: mgr.GetCache(),
		}),
		Fetcher: fetcher,
		//lint:ignore SA1019 the reconcilers' Eventf calls need the old events API's recorder (see below)
		Recorder:   mgr.GetEventRecorderFor(eventSource), //nolint:staticcheck // see below
		Namespace:  opts.Namespace,
		Fence:      opts.Fence,
		YAMLLimits: opts.YAMLLimits,
		states:     newStateStore(),
		trigger:    make(chan event.GenericEvent, triggerBuffer),
		elected:    mgr.Elected(),
		now:        time.Now,
		memory:     newMemoryReleaser(opts.MemoryReleaseInterval),
	}
	if opts.LiveChecks {
		r.Live = live.NewReader(direct, live.Options{TTL: liveTTL})
	}
	// The core/v1 recorder above is used rather than GetEventRecorder
	// (events.k8s.io): that one folds every later Event with the same
	// reason on the same IntentSync into a series carrying the first one's
	// message, so a second drift would never be named.
	if err := r.setup(mgr, kinds); err != nil {
		return nil, err
	}
	if err := r.setupFleet(mgr, opts.Config, direct.RESTMapper(), opts.DefaultServiceAccount); err != nil {
		return nil, err
	}
	reports, err := r.setupReports(mgr, opts.Logger)
	if err != nil {
		return nil, err
	}
	m := &Manager{Manager: mgr, Reconciler: r, Kinds: kinds, LeaderElectionID: opts.LeaderElectionID, reports: reports}

	if opts.WebhookAddr != "" {
		recv, err := webhook.NewReceiver(webhook.Options{
			Secret: opts.WebhookSecret,
			Logger: slog.New(logr.ToSlogHandler(opts.Logger.WithName("webhook"))),
		}, r.Trigger)
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", opts.WebhookAddr)
		if err != nil {
			return nil, fmt.Errorf("webhook listener: %w", err)
		}
		m.webhook = l
		if err := mgr.Add(&webhookServer{listener: l, handler: recv}); err != nil {
			_ = l.Close()
			return nil, err
		}
	}
	return m, nil
}

// WebhookAddr is the address the webhook receiver listens on, e.g. to learn
// the port chosen for ":0"; empty without a receiver.
func (m *Manager) WebhookAddr() string {
	if m.webhook == nil {
		return ""
	}
	return m.webhook.Addr().String()
}

// Close releases the webhook listener of a manager that was never started.
func (m *Manager) Close() error {
	if m.webhook == nil {
		return nil
	}
	err := m.webhook.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// setup registers the sync and drift controllers with mgr.
func (r *IntentSyncReconciler) setup(mgr ctrl.Manager, kinds []schema.GroupVersionKind) error {
	r.watched = kinds
	// The sync controller: spec changes, deletion, webhook triggers and its
	// own requeues. Status and other metadata updates do not wake it.
	err := ctrl.NewControllerManagedBy(mgr).
		Named("intentsync").
		For(&v1alpha1.IntentSync{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestedOrDeleted()))).
		WatchesRawSource(source.Channel(r.trigger, &handler.EnqueueRequestForObject{})).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the sync controller: %w", err)
	}

	// The drift controller: managed objects changed or deleted by others.
	b := ctrl.NewControllerManagedBy(mgr).Named("intentsync-drift")
	for _, gvk := range kinds {
		b = b.WatchesMetadata(metadataOf(gvk),
			handler.EnqueueRequestsFromMapFunc(r.mapManaged(gvk.Kind)),
			builder.WithPredicates(foreignChange(r.Apply.Options().FieldManager)))
	}
	if err := b.Complete(reconcile.Func(r.reconcileDrift)); err != nil {
		return fmt.Errorf("setting up the drift controller: %w", err)
	}
	return nil
}

// dropFieldSets removes the field sets from the managedFields of a cached
// object: the watches look at who wrote last and when (lastWriteIsOurs),
// and the sets are most of an object's metadata.
func dropFieldSets(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		mf := o.GetManagedFields()
		for i := range mf {
			mf[i].FieldsV1 = nil
		}
	}
	return obj, nil
}

// Lease timings controller-runtime uses for those left zero.
const (
	defaultLeaseDuration = 15 * time.Second
	defaultRenewDeadline = 10 * time.Second
	defaultRetryPeriod   = 2 * time.Second
)

// leaseTimings sets the Lease timings in mopts, with defaults for those
// left zero, and checks them as client-go's leader election would at
// start, when a mistake would only show as a failed run.
func (o Options) leaseTimings(mopts *ctrl.Options) error {
	lease, renew, retry := o.LeaseDuration, o.RenewDeadline, o.RetryPeriod
	if lease == 0 {
		lease = defaultLeaseDuration
	}
	if renew == 0 {
		renew = defaultRenewDeadline
	}
	if retry == 0 {
		retry = defaultRetryPeriod
	}
	switch {
	case lease < 0 || renew < 0 || retry < 0:
		return fmt.Errorf("lease timings must be positive: lease duration %s, renew deadline %s, retry period %s", lease, renew, retry)
	case lease <= renew:
		return fmt.Errorf("the lease duration (%s) must be longer than the renew deadline (%s)", lease, renew)
	case float64(renew) <= leaderelection.JitterFactor*float64(retry):
		return fmt.Errorf("the renew deadline (%s) must be longer than %.1f× the retry period (%s)", renew, leaderelection.JitterFactor, retry)
	}
	mopts.LeaseDuration, mopts.RenewDeadline, mopts.RetryPeriod = &lease, &renew, &retry
	return nil
}

// metadataOf returns an empty metadata-only object of gvk, for watches.
func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// managedKinds returns Namespace and the Istio kinds a repository may hold
// (render.AllowedKinds) that the API server serves, at their preferred
// versions. Kinds whose CRD is missing are left out rather than failing
// the manager; they are not watched for drift until a restart.
func managedKinds(mapper apimeta.RESTMapper) ([]schema.GroupVersionKind, error) {
	kinds := []schema.GroupVersionKind{{Version: "v1", Kind: "Namespace"}}
	for _, gk := range render.AllowedKinds() {
		i := strings.LastIndex(gk, "/")
		group, kind := gk[:i], gk[i+1:]
		if group == v1alpha1.Group {
			continue // intents are not stored in the cluster
		}
		m, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
		switch {
		case apimeta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("looking up %s: %w", gk, err)
		}
		kinds = append(kinds, m.GroupVersionKind)
	}
	return kinds, nil
}

// webhookServer serves the webhook receiver on its own listener, on every
// replica.
type webhookServer struct {
	listener net.Listener
	handler  http.Handler
}

// NeedLeaderElection is false: a replica that does not lead forwards
// triggers through the API server (see requestReconcile).
func (s *webhookServer) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then shuts down gracefully.
func (s *webhookServer) Start(ctx context.Context) error {
	if recv, ok := s.handler.(*webhook.Receiver); ok {
		webhookMetrics.add(recv)
		defer webhookMetrics.remove(recv)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.listener) }()
	select {
	case err := <-errc:
		return fmt.Errorf("webhook server: %w", err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

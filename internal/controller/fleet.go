package controller

// The fleet: where and as whom each IntentSync's requests go. An
// IntentSync applies to the controller's own cluster as the controller by
// default; spec.kubeConfig sends every request of its sync to a remote
// cluster, and spec.serviceAccountName (or the controller's default
// service account) makes every request impersonate a ServiceAccount. Each
// remote cluster has a watch cache of meshintent's objects of its own,
// opened when the first IntentSync uses it and closed when the last one
// stops, whose events wake the drift reconciler of the IntentSyncs using
// it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/live"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Timeouts of remote clusters.
const (
	// probeTimeout bounds the reachability check of a remote cluster at the
	// start of each sync: an unreachable cluster costs its own IntentSyncs
	// at most this, never the others.
	probeTimeout = 5 * time.Second
	// connectTimeout bounds opening a remote cluster: discovery and the
	// first list of its watch cache.
	connectTimeout = 30 * time.Second
)

// target is where and as whom the requests of one IntentSync's sync go.
type target struct {
	// apply applies, prunes, diffs and reads the inventory, as the
	// identity of the sync, in its cluster.
	apply *apply.Manager
	// live reads for the live policy checks, as the same identity; nil
	// when the checks are off.
	live *live.Reader
	// controller reads the inventories of other IntentSyncs for the
	// ownership checks, as the controller (the kubeconfig's user in a
	// remote cluster), whatever the sync impersonates.
	controller *apply.Manager
	// watch is the watch cache of meshintent's objects in the cluster
	// (metadata only), read as the controller for the ownership checks.
	watch client.Reader
	// kinds are the managed kinds watch holds.
	kinds []schema.GroupVersionKind
	// server is the remote API server's URL; empty for the controller's
	// own cluster.
	server string
	// serviceAccount is the impersonated ServiceAccount as
	// namespace/name; empty when the controller acts as itself.
	serviceAccount string
}

// identity is one ServiceAccount's (or the controller's own) way into one
// cluster.
type identity struct {
	apply *apply.Manager
	live  *live.Reader
}

// fleet holds the remote clusters in use and the impersonating clients.
type fleet struct {
	r      *IntentSyncReconciler
	local  *rest.Config
	scheme *runtime.Scheme
	mapper apimeta.RESTMapper
	// defaultSA is impersonated by IntentSyncs that name no
	// ServiceAccount; empty means the controller acts as itself for them.
	defaultSA string
	// events carries drift events of remote clusters, as IntentSync keys,
	// to the remote drift controller.
	events chan event.GenericEvent
	// ctx lives as long as the manager; remote watch caches run under it.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// localAs are the impersonating identities in the local cluster, by
	// ServiceAccount user name.
	localAs map[string]*identity
	// clusters are the remote clusters in use, by kubeconfig hash.
	clusters map[string]*remoteCluster
	// users maps each IntentSync to the hash of its remote cluster; absent
	// for the local cluster.
	users map[types.NamespacedName]string
	// closing are clusters being closed, waited for at shutdown.
	closing sync.WaitGroup
}

// setupFleet gives r remote clusters and impersonation: it builds the
// fleet from the manager's config, adds the controller that takes drift
// events of remote clusters to reconcileDrift, and closes every remote
// cluster when the manager stops.
func (r *IntentSyncReconciler) setupFleet(mgr ctrl.Manager, cfg *rest.Config, mapper apimeta.RESTMapper, defaultSA string) error {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{
		r: r, local: cfg, scheme: mgr.GetScheme(), mapper: mapper, defaultSA: defaultSA,
		events: make(chan event.GenericEvent, triggerBuffer),
		ctx:    ctx, cancel: cancel,
		localAs:  map[string]*identity{},
		clusters: map[string]*remoteCluster{},
		users:    map[types.NamespacedName]string{},
	}
	r.fleet = f
	if err := mgr.Add(f); err != nil {
		cancel()
		return fmt.Errorf("adding the fleet: %w", err)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		Named("intentsync-remote-drift").
		WatchesRawSource(source.Channel(f.events, &handler.EnqueueRequestForObject{})).
		Complete(reconcile.Func(r.reconcileDrift))
	if err != nil {
		cancel()
		return fmt.Errorf("setting up the remote drift controller: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: the fleet only closes remote clusters at
// shutdown; it opens them for reconciles, which run on the leader.
func (f *fleet) NeedLeaderElection() bool { return false }

// Start waits for the manager to stop, then closes every remote cluster.
func (f *fleet) Start(ctx context.Context) error {
	<-ctx.Done()
	f.cancel()
	f.mu.Lock()
	for _, c := range f.clusters {
		f.closeLocked(c)
	}
	f.mu.Unlock()
	f.closing.Wait()
	return nil
}

// serviceAccountOf is the ServiceAccount obj's sync impersonates: its own,
// else the controller's default; empty for none.
func (r *IntentSyncReconciler) serviceAccountOf(obj *v1alpha1.IntentSync) string {
	if obj.Spec.ServiceAccountName != "" {
		return obj.Spec.ServiceAccountName
	}
	if r.fleet != nil {
		return r.fleet.defaultSA
	}
	return ""
}

// targetError is a failure to reach obj's cluster: its kubeconfig cannot be
// read or is refused (stalled, a configuration error: tried again at the
// poll interval), or the cluster does not answer (retried with backoff).
type targetError struct {
	err     error
	stalled bool
}

func (e *targetError) Error() string { return e.err.Error() }
func (e *targetError) Unwrap() error { return e.err }

// targetFor returns where and as whom obj's requests go, opening its remote
// cluster when needed, and checks that a remote cluster answers. It records
// which cluster obj uses, so that the cluster's watches are closed once no
// IntentSync uses it. Errors are *targetError; they never quote the
// kubeconfig.
func (r *IntentSyncReconciler) targetFor(ctx context.Context, obj *v1alpha1.IntentSync, probe bool) (*target, string, error) {
	key := client.ObjectKeyFromObject(obj)
	sa := r.serviceAccountOf(obj)
	if obj.Spec.KubeConfig == nil {
		tg := &target{apply: r.Apply, controller: r.Apply, live: r.Live, watch: r.Client, kinds: r.watched}
		if r.fleet == nil {
			if sa != "" {
				return nil, "", &targetError{err: errors.New("impersonation needs the controller's manager")}
			}
			return tg, "", nil
		}
		r.fleet.use(key, nil)
		if sa == "" {
			return tg, "", nil
		}
		id, err := r.fleet.localIdentity(obj.Namespace, sa)
		if err != nil {
			return nil, "", &targetError{err: err}
		}
		tg.apply, tg.live, tg.serviceAccount = id.apply, id.live, obj.Namespace+"/"+sa
		return tg, "", nil
	}
	if r.fleet == nil {
		return nil, "", &targetError{err: errors.New("remote clusters need the controller's manager")}
	}

	// Read and check the kubeconfig.
	ref := obj.Spec.KubeConfig.SecretRef
	k := ref.Key
	if k == "" {
		k = DefaultKubeConfigKey
	}
	var s corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: ref.Name}, &s); err != nil {
		return nil, "", &targetError{err: fmt.Errorf("reading kubeconfig secret %s/%s: %w", obj.Namespace, ref.Name, secretAccessHint(err, obj.Namespace))}
	}
	data, ok := s.Data[k]
	if !ok {
		return nil, "", &targetError{err: fmt.Errorf("kubeconfig secret %s/%s has no key %q", obj.Namespace, ref.Name, k), stalled: true}
	}
	rc, err := parseKubeConfig(data)
	if err != nil {
		return nil, "", &targetError{err: fmt.Errorf("kubeconfig secret %s/%s, key %q: %w", obj.Namespace, ref.Name, k, err), stalled: true}
	}
	sum := sha256.Sum256(data)
	c := r.fleet.use(key, &remoteKey{hash: hex.EncodeToString(sum[:8]), config: rc})

	// Open the cluster, or check that it still answers.
	watch, kinds, err := c.connect(ctx, probe)
	if err != nil {
		return nil, rc.server, &targetError{err: fmt.Errorf("cluster %s: %w", rc.server, err)}
	}
	tg := &target{watch: watch, kinds: kinds, server: rc.server}
	own, err := c.identity(obj.Namespace, "")
	if err != nil {
		return nil, rc.server, &targetError{err: fmt.Errorf("cluster %s: %w", rc.server, err)}
	}
	id, err := c.identity(obj.Namespace, sa)
	if err != nil {
		return nil, rc.server, &targetError{err: fmt.Errorf("cluster %s: %w", rc.server, err)}
	}
	tg.apply, tg.live, tg.controller = id.apply, id.live, own.apply
	if sa != "" {
		tg.serviceAccount = obj.Namespace + "/" + sa
	}
	return tg, rc.server, nil
}

// remoteKey identifies a remote cluster by its kubeconfig's content.
type remoteKey struct {
	hash   string
	config *remoteConfig
}

// use records that IntentSync key uses the cluster rk (the local one when
// nil) and returns it, opened or not; a cluster it used before is released.
func (f *fleet) use(key types.NamespacedName, rk *remoteKey) *remoteCluster {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, had := f.users[key]
	if rk == nil {
		if had {
			delete(f.users, key)
			f.releaseLocked(old)
		}
		return nil
	}
	c, ok := f.clusters[rk.hash]
	if !ok {
		c = &remoteCluster{f: f, key: rk.hash, server: rk.config.server, config: rk.config.config, as: map[string]*identity{}}
		f.clusters[rk.hash] = c
	}
	if !had || old != rk.hash {
		c.users++
		f.users[key] = rk.hash
		if had {
			f.releaseLocked(old)
		}
	}
	return c
}

// release records that IntentSync key is gone.
func (f *fleet) release(key types.NamespacedName) {
	if f == nil {
		return
	}
	f.use(key, nil)
}

// releaseLocked drops a user of cluster hash, closing the cluster when it
// was the last. f.mu is held.
func (f *fleet) releaseLocked(hash string) {
	c, ok := f.clusters[hash]
	if !ok {
		return
	}
	if c.users--; c.users <= 0 {
		f.closeLocked(c)
	}
}

// closeLocked removes c and stops its watches in the background. f.mu is
// held.
func (f *fleet) closeLocked(c *remoteCluster) {
	delete(f.clusters, c.key)
	f.closing.Add(1)
	go func() {
		defer f.closing.Done()
		c.close()
	}()
}

// clusterOf returns the hash of the remote cluster IntentSync key uses, or
// "" for the local cluster (or a nil fleet).
func (f *fleet) clusterOf(key types.NamespacedName) string {
	if f == nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users[key]
}

// open returns the hashes of the open remote clusters, for tests.
func (f *fleet) open() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k, c := range f.clusters {
		c.mu.Lock()
		if c.cache != nil {
			out = append(out, k)
		}
		c.mu.Unlock()
	}
	return out
}

// localIdentity returns the identity impersonating ServiceAccount sa of
// namespace in the local cluster. Its reads all go to the API server as
// the ServiceAccount: the controller's watch cache never answers for it.
func (f *fleet) localIdentity(namespace, sa string) (*identity, error) {
	user := serviceAccountUser(namespace, sa)
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.localAs[user]; ok {
		return id, nil
	}
	id, err := f.newIdentity(impersonating(f.local, namespace, sa), f.mapper, nil)
	if err != nil {
		return nil, err
	}
	f.localAs[user] = id
	return id, nil
}

// newIdentity returns an identity making requests with cfg. metadata, when
// set, is the watch cache that lets apply skip unchanged objects.
func (f *fleet) newIdentity(cfg *rest.Config, mapper apimeta.RESTMapper, metadata client.Reader) (*identity, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating HTTP client: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: f.scheme, Mapper: mapper, HTTPClient: hc})
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	opts := f.r.Apply.Options()
	id := &identity{apply: apply.NewManager(c, apply.Options{
		FieldManager:       opts.FieldManager,
		InventoryNamespace: opts.InventoryNamespace,
		Concurrency:        opts.Concurrency,
		MetadataReader:     metadata,
	})}
	if f.r.Live != nil {
		id.live = live.NewReader(c, live.Options{TTL: liveTTL})
	}
	return id, nil
}

// remoteCluster is a cluster of spec.kubeConfig: the clients of the
// identities using it and a watch cache of meshintent's objects, read as
// the kubeconfig's user.
type remoteCluster struct {
	f      *fleet
	key    string
	server string
	config *rest.Config
	// users counts the IntentSyncs using it; guarded by f.mu.
	users int

	// mu guards what follows, and serialises opening.
	mu     sync.Mutex
	http   *http.Client
	mapper apimeta.RESTMapper
	cache  cache.Cache
	kinds  []schema.GroupVersionKind
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
	as     map[string]*identity
}

// connect opens c when it is not open yet: discovery of the managed kinds,
// then a watch cache of meshintent's objects of those kinds, synced. An
// open cluster is checked with a light request when probe is set (the
// cache, once synced, keeps its watches and re-opens them by itself when
// the cluster comes back).
func (c *remoteCluster) connect(ctx context.Context, probe bool) (cache.Cache, []schema.GroupVersionKind, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, errClosed
	}
	if c.cache != nil {
		if probe {
			if err := c.probe(ctx); err != nil {
				return nil, nil, err
			}
		}
		return c.cache, c.kinds, nil
	}
	if err := c.open(ctx); err != nil {
		return nil, nil, err
	}
	return c.cache, c.kinds, nil
}

// errClosed is a cluster closed while a sync was about to use it (its last
// other user left); the sync's retry opens it again.
var errClosed = errors.New("the cluster's watches were closed meanwhile; retrying")

// open opens c. c.mu is held.
func (c *remoteCluster) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	hc, err := rest.HTTPClientFor(c.config)
	if err != nil {
		return fmt.Errorf("creating HTTP client: %w", err)
	}
	c.http = hc
	if err := c.probe(ctx); err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(c.config, hc)
	if err != nil {
		return fmt.Errorf("creating REST mapper: %w", err)
	}
	kinds, err := managedKinds(mapper)
	if err != nil {
		return fmt.Errorf("discovering the managed kinds: %w", err)
	}
	managed := labels.SelectorFromSet(labels.Set{manifest.ManagedByLabel: manifest.ManagedByValue})
	ca, err := cache.New(c.config, cache.Options{
		HTTPClient: hc, Scheme: c.f.scheme, Mapper: mapper,
		DefaultLabelSelector: managed, DefaultTransform: dropFieldSets,
	})
	if err != nil {
		return fmt.Errorf("creating watch cache: %w", err)
	}
	cctx, stop := context.WithCancel(c.f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ca.Start(cctx); err != nil {
			ctrl.LoggerFrom(ctx).Info("remote watch cache stopped", "cluster", c.server, "error", err.Error())
		}
	}()
	abort := func(err error) error {
		stop()
		<-done
		return err
	}
	fieldManager := c.f.r.Apply.Options().FieldManager
	for _, gvk := range kinds {
		inf, err := ca.GetInformer(ctx, metadataOf(gvk), cache.BlockUntilSynced(false))
		if err != nil {
			return abort(fmt.Errorf("watching %s: %w", gvk.Kind, err))
		}
		if _, err := inf.AddEventHandler(c.f.r.remoteHandler(c.key, gvk.Kind, fieldManager)); err != nil {
			return abort(fmt.Errorf("watching %s: %w", gvk.Kind, err))
		}
	}
	if !ca.WaitForCacheSync(ctx) {
		return abort(fmt.Errorf("the watches did not sync within %s", connectTimeout))
	}
	c.mapper, c.cache, c.kinds, c.stop, c.done = mapper, ca, kinds, stop, done
	ctrl.LoggerFrom(ctx).Info("remote cluster opened", "cluster", c.server, "kinds", len(kinds))
	return nil
}

// probe checks within probeTimeout that the API server answers, as the
// kubeconfig's user (GET /version, open to every authenticated user).
func (c *remoteCluster) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(c.config, c.http)
	if err != nil {
		return fmt.Errorf("creating discovery client: %w", err)
	}
	if err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		return fmt.Errorf("unreachable: %w", err)
	}
	return nil
}

// identity returns the identity of ServiceAccount sa of namespace in c (the
// kubeconfig's user when sa is empty). Only the kubeconfig's own identity
// reads the watch cache, which was filled with its rights.
func (c *remoteCluster) identity(namespace, sa string) (*identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	user := ""
	if sa != "" {
		user = serviceAccountUser(namespace, sa)
	}
	if id, ok := c.as[user]; ok {
		return id, nil
	}
	cfg, metadata := c.config, client.Reader(c.cache)
	if sa != "" {
		cfg, metadata = impersonating(c.config, namespace, sa), nil
	}
	id, err := c.f.newIdentity(cfg, c.mapper, metadata)
	if err != nil {
		return nil, err
	}
	c.as[user] = id
	return id, nil
}

// close stops c's watches and waits for them.
func (c *remoteCluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.stop != nil {
		c.stop()
		<-c.done
	}
	c.cache, c.as = nil, nil
}

// remoteHandler turns the watch events of kind in remote cluster hash into
// drift reconciles of the IntentSyncs using that cluster, with the same
// filter as the local watches (foreignChange).
func (r *IntentSyncReconciler) remoteHandler(hash, kind, fieldManager string) toolscache.ResourceEventHandler {
	pred := foreignChange(fieldManager)
	mapper := r.mapManagedIn(hash, kind)
	enqueue := func(o client.Object) {
		for _, req := range mapper(r.fleet.ctx, o) {
			key := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name}}
			select {
			case r.fleet.events <- event.GenericEvent{Object: key}:
			case <-r.fleet.ctx.Done():
			}
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(client.Object)
			n, ok2 := newObj.(client.Object)
			if ok1 && ok2 && pred.Update(event.UpdateEvent{ObjectOld: o, ObjectNew: n}) {
				enqueue(n)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if o, ok := obj.(client.Object); ok {
				enqueue(o)
			}
		},
	}
}

// cannotRE finds the verb in the API server's Forbidden message
// (`User "…" cannot patch resource "…"`).
var cannotRE = regexp.MustCompile(`cannot (\w+) resource`)

// deniedFailure turns f into ImpersonationDenied when the sync impersonates
// a ServiceAccount and the API server refused it a request: the message
// names the ServiceAccount, the verb and each refused object. Nothing of
// the revision was applied when the dry-run was refused. Such a failure is
// stalled, and tried again at the poll interval (RBAC may be granted).
func (tg *target) deniedFailure(f failure) failure {
	if tg.serviceAccount == "" || !apierrors.IsForbidden(f.err) {
		return f
	}
	verbOf := func(err error) string {
		if m := cannotRE.FindStringSubmatch(err.Error()); m != nil {
			return m[1]
		}
		return "access"
	}
	var parts []string
	if dr, ok := errors.AsType[*apply.DryRunError](f.err); ok {
		for _, oe := range dr.Failures {
			if apierrors.IsForbidden(oe.Err) {
				src := ""
				if oe.Source != "" {
					src = " (" + oe.Source + ")"
				}
				parts = append(parts, fmt.Sprintf("may not %s %s%s: %s", verbOf(oe.Err), oe.ID, src, apiMessage(oe.Err)))
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("may not %s: %s", verbOf(f.err), f.err.Error()))
	}
	f.reason = v1alpha1.ReasonImpersonationDenied
	f.err = fmt.Errorf("ServiceAccount %s %s; nothing of revision %s was applied", tg.serviceAccount, strings.Join(parts, "; "), f.revision)
	f.stalled, f.retry = true, true
	return f
}

// apiMessage is the API server's message of err.
func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}

// unreachableFailure turns f into ClusterUnreachable when the sync's remote
// cluster stopped answering during it: retried with backoff.
func (tg *target) unreachableFailure(f failure) failure {
	if tg.server == "" || !unreachable(f.err) {
		return f
	}
	f.reason = v1alpha1.ReasonClusterUnreachable
	f.err = fmt.Errorf("cluster %s: %w", tg.server, f.err)
	f.stalled, f.retry = false, false
	return f
}

// unreachable reports whether err, or every failure of a dry-run, is a
// connection to the API server failing rather than an answer from it.
func unreachable(err error) bool {
	if dr, ok := errors.AsType[*apply.DryRunError](err); ok {
		for _, oe := range dr.Failures {
			if !unreachable(oe.Err) {
				return false
			}
		}
		return len(dr.Failures) > 0
	}
	if utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, context.DeadlineExceeded) || apierrors.IsServiceUnavailable(err) {
		return true
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	_, ok := errors.AsType[*net.OpError](err)
	return ok
}

// connect is the sync's first step: where and as whom its requests go. It
// records the remote cluster's URL in status (empty for the local
// cluster), also when the cluster cannot be reached.
func (r *IntentSyncReconciler) connect(ctx context.Context, obj *v1alpha1.IntentSync) (*target, *failure) {
	tg, server, err := r.targetFor(ctx, obj, true)
	if server != "" || obj.Spec.KubeConfig == nil {
		obj.Status.Cluster = server
	}
	if err != nil {
		te, _ := errors.AsType[*targetError](err)
		stalled := te != nil && te.stalled
		return nil, &failure{step: "connect", reason: v1alpha1.ReasonClusterUnreachable, revision: refString(obj.Spec.Source),
			err: err, stalled: stalled, retry: stalled}
	}
	return tg, nil
}

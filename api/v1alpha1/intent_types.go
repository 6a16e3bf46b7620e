// Package v1alpha1 holds the meshintent.io/v1alpha1 API: the mesh intents that
// people write in Git (NamespaceIntent, ServiceIntent).
//
// Intents are never stored in a cluster: they are read from a repository,
// rendered into Istio and Kubernetes objects and then thrown away. Their Go
// types exist for strict decoding, for the JSON Schema printed by
// `reconciler schema` and for rendering.
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and APIVersion name this API.
const (
	Group      = "meshintent.io"
	APIVersion = Group + "/v1alpha1"
)

// Kinds of intent documents.
const (
	KindNamespaceIntent = "NamespaceIntent"
	KindServiceIntent   = "ServiceIntent"
)

// Dataplane says how workloads of a namespace join the mesh.
type Dataplane string

// Dataplane modes.
const (
	// DataplaneSidecar injects an Envoy sidecar (istio-injection=enabled or istio.io/rev).
	DataplaneSidecar Dataplane = "sidecar"
	// DataplaneAmbient enrols the namespace in ambient mode (istio.io/dataplane-mode=ambient).
	DataplaneAmbient Dataplane = "ambient"
	// DataplaneNone keeps the namespace out of the mesh (istio-injection=disabled).
	DataplaneNone Dataplane = "none"
)

// NamespaceIntent says that a namespace is (or is not) in the mesh. Its name is
// the namespace's name; it is cluster-scoped and any metadata.namespace is ignored.
type NamespaceIntent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the namespace's mesh membership.
	Spec NamespaceIntentSpec `json:"spec"`
}

// NamespaceIntentSpec is the desired mesh membership of a namespace.
type NamespaceIntentSpec struct {
	// Dataplane is sidecar, ambient or none.
	Dataplane Dataplane `json:"dataplane" jsonschema:"enum=sidecar,enum=ambient,enum=none"`
	// Revision selects an Istio control-plane revision: the namespace gets
	// istio.io/rev=<revision> instead of istio-injection=enabled. Sidecar only.
	Revision string `json:"revision,omitempty"`
	// Environment names the namespace's environment (e.g. "production"); policies
	// use it, e.g. no fault injection in production.
	Environment string `json:"environment,omitempty"`
	// AllowFaultInjection lets ServiceIntents of a production namespace inject faults.
	AllowFaultInjection bool `json:"allowFaultInjection,omitempty"`
	// Tracing, when set, renders a namespace-wide Telemetry resource.
	Tracing *NamespaceTracing `json:"tracing,omitempty"`
}

// NamespaceTracing configures tracing for every workload of a namespace.
type NamespaceTracing struct {
	// Provider is the name of a tracing provider from the mesh config (e.g. "zipkin").
	Provider string `json:"provider,omitempty"`
	// SamplingPercentage is the share of requests traced, 0 to 100.
	SamplingPercentage *float64 `json:"samplingPercentage,omitempty"`
}

// ServiceIntent describes the traffic of one service: versions, weighted and
// matching routing, suspension, resilience, faults, mirroring and tracing.
type ServiceIntent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	// Spec is the service's traffic behaviour.
	Spec ServiceIntentSpec `json:"spec"`
}

// ServiceIntentSpec is the desired traffic behaviour of a service.
type ServiceIntentSpec struct {
	// Service is the Kubernetes Service name; it defaults to the intent's name.
	Service string `json:"service,omitempty"`
	// VersionLabel is the pod label that tells versions apart; default "version".
	VersionLabel string `json:"versionLabel,omitempty"`
	// Versions are the service's versions; each becomes a DestinationRule subset.
	Versions []Version `json:"versions,omitempty"`
	// Split is weighted routing of all requests not caught by Routes.
	// Weights are integers that sum to 100.
	Split []Destination `json:"split,omitempty"`
	// Routes are matching rules, tried in order before Split.
	Routes []Route `json:"routes,omitempty"`
	// Suspend stops traffic to some versions (weight 0) or to all (abort).
	Suspend *Suspend `json:"suspend,omitempty"`
	// Timeout is the request timeout, a duration such as "2s" or "500ms".
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Retries is the retry policy of every route.
	Retries *Retries `json:"retries,omitempty"`
	// Fault injects delays or aborts into every route.
	Fault *Fault `json:"fault,omitempty"`
	// Mirror copies a share of the traffic to a version.
	Mirror *Mirror `json:"mirror,omitempty"`
	// TrafficPolicy is the DestinationRule's traffic policy for all versions.
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
	// Tracing, when set, renders a Telemetry resource for the service's workloads.
	Tracing *ServiceTracing `json:"tracing,omitempty"`
}

// Version is one version of a service.
type Version struct {
	// Name is the subset name and, unless Labels is set, the value of the version label.
	Name string `json:"name"`
	// Labels select the version's pods; default {<versionLabel>: <name>}.
	Labels map[string]string `json:"labels,omitempty"`
	// TrafficPolicy overrides the service's policy for this version.
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
}

// Destination sends a share of the requests to a version.
type Destination struct {
	// Version is a name from spec.versions.
	Version string `json:"version"`
	// Weight is the percentage of requests, 0 to 100. One destination of a
	// list may leave it out and gets what the others leave of 100.
	Weight int32 `json:"weight"`
}

// Route is one matching rule.
type Route struct {
	// Name is optional and shows up in the VirtualService route name.
	Name string `json:"name,omitempty"`
	// Match entries are ORed; the conditions inside one entry are ANDed.
	// An empty list matches every request (a catch-all).
	Match []Match `json:"match,omitempty"`
	// To is where matching requests go; weights sum to 100 (one entry may omit it).
	To []Destination `json:"to"`
	// Fault injects faults into this rule only.
	Fault *Fault `json:"fault,omitempty"`
	// Timeout overrides spec.timeout for this rule, a duration such as "10s".
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// Match is a set of conditions that must all hold.
type Match struct {
	// Headers match request headers by name (lower-case), e.g.
	// {"end-user": {"exact": "jason"}}.
	Headers map[string]StringMatch `json:"headers,omitempty"`
	// URI matches the request's path, e.g. {"prefix": "/reviews/beta"}.
	URI *StringMatch `json:"uri,omitempty"`
	// Method matches the request's HTTP method, e.g. {"exact": "GET"}.
	Method *StringMatch `json:"method,omitempty"`
	// QueryParams match query parameters by name, e.g. {"debug": {"exact": "true"}}.
	QueryParams map[string]StringMatch `json:"queryParams,omitempty"`
}

// StringMatch matches a string one way: exactly, by prefix or by RE2 regex.
// Exactly one of the fields is set.
type StringMatch struct {
	// Exact matches the whole string, e.g. "jason".
	Exact string `json:"exact,omitempty"`
	// Prefix matches the start of the string, e.g. "/reviews/beta".
	Prefix string `json:"prefix,omitempty"`
	// Regex is an RE2 regular expression the whole string must match,
	// e.g. "^(true|yes|1)$".
	Regex string `json:"regex,omitempty"`
}

// Suspend stops traffic to some versions or to the whole service.
type Suspend struct {
	// Versions whose weight becomes 0 everywhere. In each weighted list (the
	// split and every rule) the weight they had goes to the other versions of
	// the list in proportion to their weights, so that weights still sum to
	// 100; a rule whose versions are all suspended is left out (its requests
	// fall through to the next rules and the split), and a mirror to a
	// suspended version is dropped. Suspending every version of the split is
	// an error: use All.
	Versions []string `json:"versions,omitempty"`
	// All aborts every request with HTTPStatus.
	All bool `json:"all,omitempty"`
	// Reason says why; required by the built-in policy.
	Reason string `json:"reason,omitempty"`
	// HTTPStatus answered when All is set; default 503.
	HTTPStatus int32 `json:"httpStatus,omitempty"`
}

// Retries is an HTTP retry policy.
type Retries struct {
	// Attempts is the number of retries after the first try.
	Attempts int32 `json:"attempts"`
	// PerTryTimeout bounds each attempt, a duration such as "500ms".
	PerTryTimeout *metav1.Duration `json:"perTryTimeout,omitempty"`
	// RetryOn lists the conditions, e.g. "5xx,reset,connect-failure".
	RetryOn string `json:"retryOn,omitempty"`
}

// Fault injects a delay, an abort, or both into a share of the requests.
type Fault struct {
	// Delay holds the request this long before it is forwarded, a
	// duration such as "2s".
	Delay *metav1.Duration `json:"delay,omitempty"`
	// Abort answers with this HTTP status instead of forwarding.
	Abort int32 `json:"abort,omitempty"`
	// Percentage is the share of requests hit, 0 to 100; default 100.
	Percentage *float64 `json:"percentage,omitempty"`
}

// Mirror copies traffic to a version; the copies' responses are dropped.
type Mirror struct {
	// Version is a name from spec.versions.
	Version string `json:"version"`
	// Percentage is the share of requests mirrored, 0 to 100; default 100.
	Percentage *float64 `json:"percentage,omitempty"`
}

// TrafficPolicy is a DestinationRule traffic policy.
type TrafficPolicy struct {
	// TLS mode towards the service: DISABLE, SIMPLE, MUTUAL or ISTIO_MUTUAL.
	// MUTUAL is refused when decoding: it needs client certificates, which
	// intents cannot carry; use ISTIO_MUTUAL.
	TLS string `json:"tls,omitempty" jsonschema:"enum=DISABLE,enum=SIMPLE,enum=MUTUAL,enum=ISTIO_MUTUAL"`
	// LoadBalancer is the simple load-balancing algorithm: ROUND_ROBIN,
	// LEAST_REQUEST, RANDOM or PASSTHROUGH (UNSPECIFIED leaves Istio's default).
	LoadBalancer string `json:"loadBalancer,omitempty" jsonschema:"enum=ROUND_ROBIN,enum=LEAST_REQUEST,enum=RANDOM,enum=PASSTHROUGH,enum=UNSPECIFIED"`
	// ConnectionPool limits connections and requests.
	ConnectionPool *ConnectionPool `json:"connectionPool,omitempty"`
	// OutlierDetection ejects failing endpoints.
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
}

// ConnectionPool limits connections and requests to the service.
type ConnectionPool struct {
	// MaxConnections is the TCP connection limit.
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// ConnectTimeout is the TCP connect timeout, a duration such as "250ms".
	ConnectTimeout *metav1.Duration `json:"connectTimeout,omitempty"`
	// HTTP1MaxPendingRequests is the queue length for HTTP/1.1.
	HTTP1MaxPendingRequests int32 `json:"http1MaxPendingRequests,omitempty"`
	// HTTP2MaxRequests is the limit of concurrent HTTP/2 requests.
	HTTP2MaxRequests int32 `json:"http2MaxRequests,omitempty"`
	// MaxRequestsPerConnection caps the requests sent over one connection;
	// 1 disables keep-alive.
	MaxRequestsPerConnection int32 `json:"maxRequestsPerConnection,omitempty"`
}

// OutlierDetection ejects endpoints that keep failing.
type OutlierDetection struct {
	// Consecutive5xxErrors is the number of 5xx answers in a row after which
	// an endpoint is ejected.
	Consecutive5xxErrors int32 `json:"consecutive5xxErrors,omitempty"`
	// Interval is the time between ejection sweeps, a duration such as "10s".
	Interval *metav1.Duration `json:"interval,omitempty"`
	// BaseEjectionTime is the minimum ejection time, a duration such as "30s".
	BaseEjectionTime *metav1.Duration `json:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent caps the share of ejected endpoints, 0 to 100.
	MaxEjectionPercent int32 `json:"maxEjectionPercent,omitempty"`
}

// ServiceTracing configures tracing for the service's workloads.
type ServiceTracing struct {
	// Provider overrides the namespace's provider.
	Provider string `json:"provider,omitempty"`
	// SamplingPercentage is the share of requests traced, 0 to 100.
	SamplingPercentage *float64 `json:"samplingPercentage,omitempty"`
}

// ServiceName is the Kubernetes Service the intent is about: spec.service or the name.
func (s *ServiceIntent) ServiceName() string {
	if s.Spec.Service != "" {
		return s.Spec.Service
	}
	return s.Name
}

// VersionLabelKey is spec.versionLabel or "version".
func (s *ServiceIntent) VersionLabelKey() string {
	if s.Spec.VersionLabel != "" {
		return s.Spec.VersionLabel
	}
	return "version"
}

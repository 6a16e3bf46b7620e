package live

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// countingReader counts the Service lists that reach the client.
type countingReader struct {
	client.Reader
	mu           sync.Mutex
	serviceLists int
}

func (c *countingReader) List(ctx context.Context, l client.ObjectList, opts ...client.ListOption) error {
	if _, ok := l.(*corev1.ServiceList); ok {
		c.mu.Lock()
		c.serviceLists++
		c.mu.Unlock()
	}
	return c.Reader.List(ctx, l, opts...)
}

func (c *countingReader) lists() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serviceLists
}

// routeTo is a set of one VirtualService of namespace shop routing to host.
func routeTo(host string) manifest.Set {
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "VirtualService",
		"metadata":   map[string]any{"name": "reviews", "namespace": "shop"},
		"spec": map[string]any{
			"hosts": []any{host},
			"http": []any{map[string]any{
				"route": []any{map[string]any{"destination": map[string]any{"host": host}}},
			}},
		},
	}}
	return manifest.Set{{Unstructured: vs, Source: "reviews.yaml"}}
}

// TestReadReusesReadsOnlyForTheSameVersion reads the same set twice, with
// the Service it routes to created between the reads, and says whether the
// second Read saw it and how often it listed the namespace's Services: a
// new Version of a Scope (a new revision of an IntentSync) must see it at
// once, whatever the TTL; the same Version, or no Scope, reuses the first
// read until the TTL has passed.
func TestReadReusesReadsOnlyForTheSameVersion(t *testing.T) {
	r1 := ReadOptions{Scope: "shop/mesh", Version: "main@sha1:1@1"}
	r2 := ReadOptions{Scope: "shop/mesh", Version: "main@sha1:2@1"}
	gen2 := ReadOptions{Scope: "shop/mesh", Version: "main@sha1:1@2"}
	other := ReadOptions{Scope: "shop/other", Version: "main@sha1:1@1"}
	tests := []struct {
		name          string
		ttl           time.Duration
		first, second ReadOptions
		// after is how long after the first Read the second one runs.
		after time.Duration
		// seen says whether the second Read sees the new Service; lists
		// counts the Service lists of the second Read.
		seen  bool
		lists int
	}{
		{name: "the same version reuses the first read", ttl: 30 * time.Second, first: r1, second: r1, after: time.Second},
		{name: "a new revision reads afresh", ttl: 30 * time.Second, first: r1, second: r2, after: time.Second, seen: true, lists: 1},
		{name: "a new generation reads afresh", ttl: 30 * time.Second, first: r1, second: gen2, after: time.Second, seen: true, lists: 1},
		{name: "the first read of another scope is fresh", ttl: 30 * time.Second, first: r1, second: other, after: time.Second, seen: true, lists: 1},
		{name: "the same version reads again after the TTL", ttl: 30 * time.Second, first: r1, second: r1, after: 30 * time.Second, seen: true, lists: 1},
		{name: "without a scope the first read is reused", ttl: 30 * time.Second, after: time.Second},
		{name: "without a scope it is read again after the TTL", ttl: 30 * time.Second, after: 31 * time.Second, seen: true, lists: 1},
		{name: "with TTL 0 it is reused for the reader's life", ttl: 0, after: time.Hour},
		{name: "with TTL 0 a new revision reads afresh", ttl: 0, first: r1, second: r2, after: time.Hour, seen: true, lists: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := fake.NewClientBuilder().WithScheme(scheme.Scheme).Build()
			counter := &countingReader{Reader: c}
			r := NewReader(counter, Options{TTL: tt.ttl})
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			r.now = func() time.Time { return now }
			set := routeTo("reviews")

			v, err := r.Read(ctx, set, tt.first)
			if err != nil {
				t.Fatalf("first Read: %v", err)
			}
			if _, ok := v.Services["shop/reviews"]; ok || !v.Namespaces["shop"] {
				t.Fatalf("first Read: services %v of namespaces %v, want shop read and no reviews", v.Services, v.Namespaces)
			}
			if got := counter.lists(); got != 1 {
				t.Fatalf("first Read listed the Services %d times, want 1", got)
			}

			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "reviews"},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}},
			}
			if err := c.Create(ctx, svc); err != nil {
				t.Fatalf("creating Service reviews: %v", err)
			}
			now = now.Add(tt.after)

			v, err = r.Read(ctx, set, tt.second)
			if err != nil {
				t.Fatalf("second Read: %v", err)
			}
			if _, seen := v.Services["shop/reviews"]; seen != tt.seen {
				t.Errorf("second Read sees Service shop/reviews: %v, want %v", seen, tt.seen)
			}
			if got := counter.lists() - 1; got != tt.lists {
				t.Errorf("second Read listed the Services %d times, want %d", got, tt.lists)
			}

			// Whatever the second Read did, a third of its version reuses it.
			before := counter.lists()
			if _, err := r.Read(ctx, set, tt.second); err != nil {
				t.Fatalf("third Read: %v", err)
			}
			if got := counter.lists() - before; got != 0 {
				t.Errorf("a Read of the same version again listed the Services %d times, want 0", got)
			}
		})
	}
}

// TestFreshReadReadsEachNamespaceOnce checks that a fresh Read still caches
// what it reads for itself: a set routing to two Services of one namespace
// lists that namespace once.
func TestFreshReadReadsEachNamespaceOnce(t *testing.T) {
	ctx := context.Background()
	counter := &countingReader{Reader: fake.NewClientBuilder().WithScheme(scheme.Scheme).Build()}
	r := NewReader(counter, Options{TTL: 30 * time.Second})
	set := append(routeTo("reviews"), routeTo("ratings.shop.svc.cluster.local")...)
	set[1].SetName("ratings")
	for i, version := range []string{"a", "b"} {
		if _, err := r.Read(ctx, set, ReadOptions{Scope: "shop/mesh", Version: version}); err != nil {
			t.Fatalf("Read of version %s: %v", version, err)
		}
		if got := counter.lists(); got != i+1 {
			t.Errorf("after %d fresh Reads the Services were listed %d times, want %d", i+1, got, i+1)
		}
	}
}

package meshkinds_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

func TestDeclarable(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind string
		want             bool
	}{
		{"networking.istio.io/v1", "VirtualService", true},
		{"networking.istio.io/v1beta1", "DestinationRule", true},
		{"networking.istio.io/v1alpha3", "WorkloadGroup", true},
		{"security.istio.io/v1beta1", "AuthorizationPolicy", true},
		{"telemetry.istio.io/v1alpha1", "Telemetry", true},
		{"networking.istio.io/v1alpha3", "EnvoyFilter", false},
		{"networking.istio.io/v1beta1", "ProxyConfig", false},
		{"extensions.istio.io/v1alpha1", "WasmPlugin", false},
		{"security.istio.io/v1alpha3", "AuthorizationPolicy", false},
		{"networking.istio.io/v2", "VirtualService", false},
		{"security.istio.io/v1", "VirtualService", false},
		{"meshintent.io/v1alpha1", "ServiceIntent", false},
		{"v1", "Namespace", false},
		{"", "VirtualService", false},
	} {
		t.Run(tc.apiVersion+" "+tc.kind, func(t *testing.T) {
			if got := meshkinds.Declarable(tc.apiVersion, tc.kind); got != tc.want {
				t.Errorf("Declarable(%q, %q) = %v, want %v", tc.apiVersion, tc.kind, got, tc.want)
			}
		})
	}
}

// TestUnmanagedGVKs pins the kinds drift searches, in the order it
// searched them before the table existed.
func TestUnmanagedGVKs(t *testing.T) {
	want := []schema.GroupVersionKind{
		{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
		{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"},
		{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"},
		{Group: "networking.istio.io", Version: "v1", Kind: "ServiceEntry"},
		{Group: "networking.istio.io", Version: "v1", Kind: "Sidecar"},
		{Group: "networking.istio.io", Version: "v1alpha3", Kind: "EnvoyFilter"},
		{Group: "security.istio.io", Version: "v1", Kind: "AuthorizationPolicy"},
		{Group: "security.istio.io", Version: "v1", Kind: "PeerAuthentication"},
		{Group: "security.istio.io", Version: "v1", Kind: "RequestAuthentication"},
		{Group: "telemetry.istio.io", Version: "v1", Kind: "Telemetry"},
	}
	if diff := cmp.Diff(want, meshkinds.UnmanagedGVKs()); diff != "" {
		t.Errorf("UnmanagedGVKs() (-want +got):\n%s", diff)
	}
}

func TestAllIsACopy(t *testing.T) {
	all := meshkinds.All()
	all[0].Kind, all[0].Versions[0] = "Changed", "v9"
	if k, ok := meshkinds.Lookup(meshkinds.Networking, "VirtualService"); !ok || k.Preferred() != "v1" {
		t.Errorf("Lookup(VirtualService) = %+v, %v after changing All()'s copy", k, ok)
	}
}

// TestTableMatchesIstioCRDs reads the CRDs of the istio.io/api module in
// go.mod (the ones the cluster tests install) and checks each kind of the
// table: its resource is the CRD's plural, and each of its versions is
// served.
func TestTableMatchesIstioCRDs(t *testing.T) {
	ctx := context.Background()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path, err := testenv.IstioCRDs(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	crds := readCRDs(t, path)
	for _, k := range meshkinds.All() {
		t.Run(k.Group+"/"+k.Kind, func(t *testing.T) {
			crd, ok := crds[k.GroupKind()]
			if !ok {
				t.Fatalf("no CRD of %s in %s", k.GroupKind(), path)
			}
			if crd.Spec.Names.Plural != k.Resource {
				t.Errorf("Resource = %q, the CRD's plural is %q", k.Resource, crd.Spec.Names.Plural)
			}
			var served []string
			for _, v := range crd.Spec.Versions {
				if v.Served {
					served = append(served, v.Name)
				}
			}
			for _, v := range k.Versions {
				if !slices.Contains(served, v) {
					t.Errorf("version %s is not served by the CRD (served: %v)", v, served)
				}
			}
		})
	}
}

func readCRDs(t *testing.T, path string) map[schema.GroupKind]apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[schema.GroupKind]apiextensionsv1.CustomResourceDefinition{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := dec.Decode(&crd); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		if crd.Spec.Names.Kind != "" {
			out[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = crd
		}
	}
	return out
}

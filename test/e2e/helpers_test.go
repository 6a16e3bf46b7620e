package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/meshkinds"
)

var vsGVK, drGVK = meshkinds.VirtualService.GVK(), meshkinds.DestinationRule.GVK()

// reconciler runs the CLI in-process.
func reconciler(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Run(t.Context(), args, &out, &errOut)
	t.Logf("reconciler %s → exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// create creates the objects.
func create[T client.Object](t *testing.T, objs ...T) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(t.Context(), o); err != nil {
			t.Fatalf("creating %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
		}
	}
}

// mustGet is env.MustGet.
func mustGet(t *testing.T, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	return env.MustGet(t, gvk, ns, name)
}

// splitWeights returns the weights of the last (catch-all) http route.
func splitWeights(t *testing.T, vs *unstructured.Unstructured) []int64 {
	t.Helper()
	routes := testenv.RouteWeights(vs)
	if len(routes) == 0 {
		t.Fatalf("%s has no http routes", vs.GetName())
	}
	return routes[len(routes)-1]
}

// resourceVersions snapshots the resourceVersion of every mesh object in ns
// and of ns itself.
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := env.ResourceVersions(t, ns, vsGVK, drGVK)
	nsObj := &corev1.Namespace{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	out["Namespace/"+ns] = nsObj.ResourceVersion
	return out
}

// testdataFile returns the content of testdata/name.
func testdataFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/intent"
)

// locateBase is base/reviews.yaml; the comments give the line numbers the
// test expects.
const locateBase = gitfixture.ReviewsHead + `    trafficPolicy:
      tls: DISABLE
  routes:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
    to:
    - version: v2
      weight: 50
    - version: v3
      weight: 50
    timeout: 10s
  split:
  - version: v1
    weight: 90
  - version: v2
    weight: 10
  timeout: 3s
`

// line 25 is spec.split, 27 split[0].weight, 29 split[1].weight; 24 the
// rule's timeout, 30 spec.timeout; 20 to[0]; 12 versions[2].trafficPolicy.tls.
// In the patch, the split's list starts on line 8 and its second weight is
// on line 11.

const locatePatch = `apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: reviews
  namespace: bookinfo
spec:
  split:
  - version: v1
    weight: 60
  - version: v2
    weight: 40
`

const locatePassThrough = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
  namespace: bookinfo
spec:
  hosts:
  - ratings
  http:
  - route:
    - destination:
        host: ratings
`

func TestLocate(t *testing.T) {
	root, _ := writeRepo(t, map[string]string{
		"base/kustomization.yaml":          "resources:\n- reviews.yaml\n- ratings.yaml\n",
		"base/reviews.yaml":                locateBase,
		"base/ratings.yaml":                locatePassThrough,
		"overlays/prod/kustomization.yaml": "resources:\n- ../../base\npatches:\n- path: weights.yaml\n",
		"overlays/prod/weights.yaml":       locatePatch,
	})
	for _, tc := range []struct {
		name, path, object, field string
		want                      []intent.Location
	}{
		{
			name: "the catch-all route of a patched split points at the base's split and the patch's",
			path: "overlays/prod", object: "VirtualService/bookinfo/reviews", field: "spec.http[1].route",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 25, AfterOverlays: true}, {File: "overlays/prod/weights.yaml", Line: 8}},
		},
		{
			name: "a weight of the catch-all points at the split entry's weight in both files",
			path: "overlays/prod", object: "VirtualService/bookinfo/reviews", field: "spec.http[1].route[1].weight",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 29, AfterOverlays: true}, {File: "overlays/prod/weights.yaml", Line: 11}},
		},
		{
			name: "without overlays the catch-all points at the split alone",
			path: "base", object: "VirtualService/bookinfo/reviews", field: "spec.http[1].route",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 25}},
		},
		{
			name: "a rule's destinations point at the rule's to",
			path: "overlays/prod", object: "VirtualService/bookinfo/reviews", field: "spec.http[0].route[0].destination.subset",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 20}},
		},
		{
			name: "a rule's own timeout wins over the intent's",
			path: "base", object: "VirtualService/bookinfo/reviews", field: "spec.http[0].timeout",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 24}},
		},
		{
			name: "the catch-all's timeout is the intent's",
			path: "base", object: "VirtualService/bookinfo/reviews", field: "spec.http[1].timeout",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 30}},
		},
		{
			name: "a match condition points at the rule's condition",
			path: "base", object: "VirtualService/bookinfo/reviews", field: `spec.http[0].match[0].headers["end-user"].exact`,
			want: []intent.Location{{File: "base/reviews.yaml", Line: 18}},
		},
		{
			name: "a subset's TLS mode points at the version's trafficPolicy.tls",
			path: "base", object: "DestinationRule/bookinfo/reviews", field: "spec.subsets[2].trafficPolicy.tls.mode",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 12}},
		},
		{
			name: "an intent's own field points at itself",
			path: "overlays/prod", object: "ServiceIntent/bookinfo/reviews", field: "spec.split",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 25, AfterOverlays: true}, {File: "overlays/prod/weights.yaml", Line: 8}},
		},
		{
			name: "a whole generated object points at its intent's document",
			path: "base", object: "VirtualService/bookinfo/reviews", field: "",
			want: []intent.Location{{File: "base/reviews.yaml", Line: 1}},
		},
		{
			name: "a passed-through object's field points at its own line",
			path: "base", object: "VirtualService/bookinfo/ratings", field: "spec.hosts[0]",
			want: []intent.Location{{File: "base/ratings.yaml", Line: 8}},
		},
		{
			name: "an unknown object has no location",
			path: "base", object: "VirtualService/bookinfo/nope", field: "spec",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Render(t.Context(), Options{Root: root, Path: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Locate(tc.object, tc.field)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Locate(%s, %s) (-want +got):\n%s", tc.object, tc.field, diff)
			}
		})
	}
}

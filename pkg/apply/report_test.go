package apply_test

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshintent/meshintent/pkg/apply"
)

func sampleReport() *apply.Report {
	return &apply.Report{
		Drifted: []apply.FieldDiff{{
			ID: "VirtualService/bookinfo/reviews", Source: "services/reviews.yaml",
			Path: ".spec.http[0].route[1].weight", Pointer: "/spec/http/0/route/1/weight",
			Want: int64(20), Have: int64(100), Manager: "kubectl-edit",
		}},
		Missing: []apply.ObjectInfo{{
			ID:     "DestinationRule/bookinfo/ratings",
			Object: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule", Namespace: "bookinfo", Name: "ratings"},
			Source: "services/ratings.yaml",
		}},
		Unmanaged: []apply.Unmanaged{{
			ObjectInfo: apply.ObjectInfo{
				ID:     "VirtualService/bookinfo/details",
				Object: apply.ObjectRef{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService", Namespace: "bookinfo", Name: "details"},
			},
			KialiWizard: "request_routing",
			Managers:    []string{"kiali"},
			Reason:      "not in Git: no app.kubernetes.io/managed-by=meshintent label",
		}},
	}
}

// written returns what write writes, failing the test on an error.
func written(t *testing.T, write func(io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReport(t *testing.T) {
	t.Run("text lists each difference under its object", func(t *testing.T) {
		got := written(t, sampleReport().WriteText)
		want := `1 field drifted, 1 object missing, 1 unmanaged object

drifted:
  VirtualService/bookinfo/reviews (services/reviews.yaml)
    .spec.http[0].route[1].weight: want 20, have 100 (set by kubectl-edit)

missing:
  DestinationRule/bookinfo/ratings (services/ratings.yaml)

unmanaged:
  VirtualService/bookinfo/details: made by Kiali wizard request_routing; not in Git: no app.kubernetes.io/managed-by=meshintent label (managers: kiali)
`
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("text (-want +got):\n%s", diff)
		}
	})

	t.Run("markdown has a table per section", func(t *testing.T) {
		got := written(t, sampleReport().WriteMarkdown)
		want := "**Drift: 1 field drifted, 1 object missing, 1 unmanaged object**\n" +
			"\n### Drifted fields\n\n| Object | Source | Field | Want | Have | Manager |\n|---|---|---|---|---|---|\n" +
			"| `VirtualService/bookinfo/reviews` | `services/reviews.yaml` | `.spec.http[0].route[1].weight` | `20` | `100` | `kubectl-edit` |\n" +
			"\n### Missing objects\n\n| Object | Source |\n|---|---|\n" +
			"| `DestinationRule/bookinfo/ratings` | `services/ratings.yaml` |\n" +
			"\n### Unmanaged objects\n\n| Object | Kiali wizard | Managers | Reason |\n|---|---|---|---|\n" +
			"| `VirtualService/bookinfo/details` | `request_routing` | `kiali` | not in Git: no app.kubernetes.io/managed-by=meshintent label |\n"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("markdown (-want +got):\n%s", diff)
		}
	})

	t.Run("JSON round-trips and keeps empty lists", func(t *testing.T) {
		got := written(t, sampleReport().WriteJSON)
		var doc map[string]any
		if err := json.Unmarshal([]byte(got), &doc); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{}, doc["stale"]); diff != "" {
			t.Errorf("stale (-want +got):\n%s", diff)
		}
		d := doc["drifted"].([]any)[0].(map[string]any)
		wantDiff := map[string]any{
			"id": "VirtualService/bookinfo/reviews", "source": "services/reviews.yaml",
			"path": ".spec.http[0].route[1].weight", "pointer": "/spec/http/0/route/1/weight",
			"want": float64(20), "have": float64(100), "manager": "kubectl-edit",
		}
		if diff := cmp.Diff(wantDiff, d); diff != "" {
			t.Errorf("drifted[0] (-want +got):\n%s", diff)
		}
		u := doc["unmanaged"].([]any)[0].(map[string]any)
		if u["kialiWizard"] != "request_routing" || u["id"] != "VirtualService/bookinfo/details" {
			t.Errorf("unmanaged[0] = %v", u)
		}
	})

	t.Run("an empty report is in sync", func(t *testing.T) {
		r := &apply.Report{}
		if !r.InSync() || r.Summary() != "in sync" {
			t.Errorf("InSync() = %v, Summary() = %q", r.InSync(), r.Summary())
		}
	})
}

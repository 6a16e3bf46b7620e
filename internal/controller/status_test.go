package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/validate"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		base     time.Duration
		limit    time.Duration
		want     time.Duration
	}{
		{"the first retry waits the base", 1, time.Second, time.Minute, time.Second},
		{"no failure counts as the first", 0, time.Second, time.Minute, time.Second},
		{"each failure doubles the wait", 4, time.Second, time.Minute, 8 * time.Second},
		{"the wait never exceeds the limit", 10, time.Second, 30 * time.Second, 30 * time.Second},
		{"a limit below the base wins", 1, time.Second, 500 * time.Millisecond, 500 * time.Millisecond},
		{"a huge failure count does not overflow", 1000, time.Second, time.Hour, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(tc.failures, tc.base, tc.limit); got != tc.want {
				t.Errorf("backoff(%d, %s, %s) = %s, want %s", tc.failures, tc.base, tc.limit, got, tc.want)
			}
		})
	}
}

func TestRetryCap(t *testing.T) {
	tests := []struct {
		name string
		spec v1alpha1.IntentSyncSpec
		want time.Duration
	}{
		{"retryInterval wins", v1alpha1.IntentSyncSpec{Interval: metav1.Duration{Duration: time.Minute}, RetryInterval: &metav1.Duration{Duration: 5 * time.Second}}, 5 * time.Second},
		{"the interval without retryInterval", v1alpha1.IntentSyncSpec{Interval: metav1.Duration{Duration: 2 * time.Minute}}, 2 * time.Minute},
		{"the default interval without either", v1alpha1.IntentSyncSpec{}, DefaultInterval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryCapOf(&v1alpha1.IntentSync{Spec: tc.spec}); got != tc.want {
				t.Errorf("retryCapOf = %s, want %s", got, tc.want)
			}
		})
	}
}

// conds returns the conditions as type → "Status Reason".
func conds(obj *v1alpha1.IntentSync) map[string]string {
	out := map[string]string{}
	for _, c := range obj.Status.Conditions {
		out[c.Type] = string(c.Status) + " " + c.Reason
	}
	return out
}

func TestConditions(t *testing.T) {
	tests := []struct {
		name string
		mark func(*v1alpha1.IntentSync)
		want map[string]string
	}{
		{
			name: "synced is Ready and neither reconciling nor stalled",
			mark: func(o *v1alpha1.IntentSync) { markSynced(o, "main@sha1:1") },
			want: map[string]string{"Ready": "True Synced", "Reconciling": "False Synced"},
		},
		{
			name: "a transient failure keeps reconciling and clears Stalled",
			mark: func(o *v1alpha1.IntentSync) {
				markFailed(o, v1alpha1.ReasonPolicyDenied, "x", true, 0)
				markFailed(o, v1alpha1.ReasonFetchFailed, "down", false, time.Second)
			},
			want: map[string]string{"Ready": "False FetchFailed", "Reconciling": "True Progressing"},
		},
		{
			name: "a known-bad revision stalls",
			mark: func(o *v1alpha1.IntentSync) { markFailed(o, v1alpha1.ReasonPolicyDenied, "denied", true, time.Minute) },
			want: map[string]string{"Ready": "False PolicyDenied", "Reconciling": "False PolicyDenied", "Stalled": "True PolicyDenied"},
		},
		{
			name: "suspending leaves Ready as it was",
			mark: func(o *v1alpha1.IntentSync) { markSynced(o, "main@sha1:1"); markSuspended(o) },
			want: map[string]string{"Ready": "True Synced", "Reconciling": "False Suspended"},
		},
		{
			name: "drift in report mode is not Ready but not stalled",
			mark: func(o *v1alpha1.IntentSync) {
				markFailed(o, v1alpha1.ReasonDryRunFailed, "x", true, 0)
				markDrifted(o, "1 object drifted")
			},
			want: map[string]string{"Ready": "False DriftDetected", "Reconciling": "False DriftDetected"},
		},
		{
			name: "progress marks reconciling only",
			mark: func(o *v1alpha1.IntentSync) { markProgressing(o, "applying") },
			want: map[string]string{"Reconciling": "True Progressing"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			tc.mark(obj)
			if diff := cmp.Diff(tc.want, conds(obj)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			for _, c := range obj.Status.Conditions {
				if c.ObservedGeneration != 3 {
					t.Errorf("%s observedGeneration = %d, want 3", c.Type, c.ObservedGeneration)
				}
			}
		})
	}
	t.Run("a transient failure's message says when it retries", func(t *testing.T) {
		obj := &v1alpha1.IntentSync{}
		markFailed(obj, v1alpha1.ReasonFetchFailed, "remote unreachable", false, 4*time.Second)
		if c := condition(obj, v1alpha1.ConditionReconciling); c.Message != "retrying in 4s after FetchFailed: remote unreachable" {
			t.Errorf("Reconciling message = %q", c.Message)
		}
	})
}

func TestAddAttempt(t *testing.T) {
	attempt := func(i int) v1alpha1.Attempt {
		return v1alpha1.Attempt{Revision: fmt.Sprintf("main@sha1:%d", i), Result: v1alpha1.ReasonSynced}
	}
	revisions := func(h []v1alpha1.Attempt) []string {
		var out []string
		for _, a := range h {
			out = append(out, a.Revision)
		}
		return out
	}
	tests := []struct {
		name    string
		history []v1alpha1.Attempt
		want    []string
	}{
		{"the first attempt", nil, []string{"main@sha1:9"}},
		{"newest first", []v1alpha1.Attempt{attempt(2), attempt(1)}, []string{"main@sha1:9", "main@sha1:2", "main@sha1:1"}},
		{"capped at five, dropping the oldest", []v1alpha1.Attempt{attempt(5), attempt(4), attempt(3), attempt(2), attempt(1)},
			[]string{"main@sha1:9", "main@sha1:5", "main@sha1:4", "main@sha1:3", "main@sha1:2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := addAttempt(tc.history, attempt(9))
			if diff := cmp.Diff(tc.want, revisions(got)); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a long message is truncated", func(t *testing.T) {
		a := attempt(1)
		a.Message = strings.Repeat("é", messageLimit)
		got := addAttempt(nil, a)[0].Message
		if len(got) > messageLimit || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
			t.Errorf("message of %d bytes ending %q", len(got), got[len(got)-8:])
		}
	})
}

func TestStatusCaps(t *testing.T) {
	t.Run("the inventory keeps 100 entries and the total", func(t *testing.T) {
		inv := &apply.Inventory{}
		for i := range 150 {
			inv.Entries = append(inv.Entries, apply.Entry{ObjectRef: apply.ObjectRef{Kind: "VirtualService", Namespace: "a", Name: fmt.Sprintf("vs-%03d", i)}})
		}
		got := inventoryStatus(inv)
		if got.Total != 150 || len(got.Entries) != inventoryLimit || got.Entries[0] != "VirtualService/a/vs-000" {
			t.Errorf("inventory status: total %d, %d entries, first %q", got.Total, len(got.Entries), got.Entries[0])
		}
	})
	t.Run("policy results keep 20, denials first, and the counts of all", func(t *testing.T) {
		r := &validate.Report{}
		for i := range 30 {
			r.Results = append(r.Results, validate.Result{Severity: validate.SeverityWarn, Policy: "p.warn", Object: fmt.Sprint(i)})
			r.Warnings++
		}
		r.Results = append(r.Results, validate.Result{Severity: validate.SeverityDeny, Policy: "p.deny", Object: "x"})
		r.Denials++
		got := policyStatus("rev", r)
		if got.Denials != 1 || got.Warnings != 30 || len(got.Results) != policyResultLimit || got.Results[0].Policy != "p.deny" {
			t.Errorf("policy status: %d denials, %d warnings, %d results, first %q", got.Denials, got.Warnings, len(got.Results), got.Results[0].Policy)
		}
	})
	t.Run("drift entries keep 20 and count fields and missing objects", func(t *testing.T) {
		drift := map[string]objectDrift{"VirtualService/a/gone": {missing: true}}
		for i := range 30 {
			id := fmt.Sprintf("VirtualService/a/vs-%02d", i)
			drift[id] = objectDrift{fields: []apply.FieldDiff{{ID: id, Path: ".spec.x", Want: 1, Have: 2, Manager: "kubectl-edit"}}}
		}
		got := driftStatus(drift, 3, 2, time.Unix(0, 0))
		want := &v1alpha1.DriftStatus{Drifted: 30, Missing: 1, Unmanaged: 3, Corrected: 2}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(v1alpha1.DriftStatus{}, "CheckedAt", "Entries")); diff != "" {
			t.Errorf("drift status (-want +got):\n%s", diff)
		}
		if len(got.Entries) != driftEntryLimit || got.Entries[0] != "VirtualService/a/gone: missing (deleted from the cluster)" ||
			got.Entries[1] != "VirtualService/a/vs-00 .spec.x: want 1, have 2 (kubectl-edit)" {
			t.Errorf("drift entries: %d, first %q", len(got.Entries), got.Entries[:2])
		}
	})
}

// object returns a manifest object of kind in ns.
func object(kind, ns, name, source, fromIntent string) manifest.Object {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("networking.istio.io/v1")
	if kind == "Namespace" {
		u.SetAPIVersion("v1")
	}
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return manifest.Object{Unstructured: u, Source: source, Intent: fromIntent}
}

func TestCheckFence(t *testing.T) {
	serviceIntent := func(ns, name, source string) intent.Document {
		return intent.Document{Source: source, Line: 3, ServiceIntent: &v1alpha1.ServiceIntent{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
	}
	nsIntent := func(name, source string) intent.Document {
		return intent.Document{Source: source, NamespaceIntent: &v1alpha1.NamespaceIntent{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	}
	type verdict struct{ Object, Source, Field string }
	tests := []struct {
		name    string
		allowed []string
		intents []intent.Document
		objects manifest.Set
		want    []verdict
	}{
		{
			name:    "no fence allows everything",
			intents: []intent.Document{serviceIntent("b", "s", "s.yaml")},
			objects: manifest.Set{object("VirtualService", "b", "s", "s.yaml", "ServiceIntent/b/s")},
		},
		{
			name:    "everything inside the fence passes",
			allowed: []string{"a"},
			intents: []intent.Document{serviceIntent("a", "s", "s.yaml"), nsIntent("a", "ns.yaml")},
			objects: manifest.Set{object("VirtualService", "a", "s", "s.yaml", "ServiceIntent/a/s"), object("Namespace", "", "a", "ns.yaml", "NamespaceIntent/a")},
		},
		{
			name:    "an intent outside is denied once, not again for its objects",
			allowed: []string{"a"},
			intents: []intent.Document{serviceIntent("b", "s", "s.yaml")},
			objects: manifest.Set{object("VirtualService", "b", "s", "s.yaml", "ServiceIntent/b/s"), object("DestinationRule", "b", "s", "s.yaml", "ServiceIntent/b/s")},
			want:    []verdict{{"ServiceIntent/b/s", "s.yaml", "metadata.namespace"}},
		},
		{
			name:    "a NamespaceIntent and a Namespace are judged by their name",
			allowed: []string{"a"},
			intents: []intent.Document{nsIntent("b", "ns.yaml")},
			objects: manifest.Set{object("Namespace", "", "c", "other.yaml", "")},
			want:    []verdict{{"NamespaceIntent/b", "ns.yaml", "metadata.name"}, {"Namespace/c", "other.yaml", "metadata.name"}},
		},
		{
			name:    "a passed-through object outside is denied",
			allowed: []string{"a", "b"},
			objects: manifest.Set{object("VirtualService", "c", "raw", "raw.yaml", "")},
			want:    []verdict{{"VirtualService/c/raw", "raw.yaml", "metadata.namespace"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []verdict
			for _, r := range checkFence(tc.allowed, tc.intents, tc.objects) {
				if r.Policy != TenancyPolicy || r.Severity != validate.SeverityDeny {
					t.Errorf("result %+v is not a %s denial", r, TenancyPolicy)
				}
				got = append(got, verdict{r.Object, r.Source, r.Field})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fence verdicts (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("fence results merge with a Rego report without duplicates", func(t *testing.T) {
		fence := checkFence([]string{"a"}, []intent.Document{serviceIntent("b", "s", "s.yaml")}, nil)
		rego := &validate.Report{Warnings: 1, Denials: 1, Results: []validate.Result{
			{Severity: validate.SeverityDeny, Policy: TenancyPolicy, Object: "ServiceIntent/b/s", Source: "s.yaml", Message: "rego says so"},
			{Severity: validate.SeverityWarn, Policy: "meshintent.resilience", Object: "VirtualService/a/x", Source: "x.yaml"},
		}}
		got := withFence(rego, fence)
		if got.Denials != 1 || got.Warnings != 1 || len(got.Results) != 2 || got.Results[0].Message != fence[0].Message {
			t.Errorf("merged report: %d denials, %d warnings, results %+v", got.Denials, got.Warnings, got.Results)
		}
	})
}

func TestDeniedMessage(t *testing.T) {
	r := &validate.Report{Denials: 2, Results: []validate.Result{
		{Severity: validate.SeverityDeny, Policy: "meshintent.weights", Object: "VirtualService/a/r", Source: "r.yaml", Field: "spec.http[0].route", Message: "weights sum to 90, not 100"},
		{Severity: validate.SeverityDeny, Policy: "meshintent.wildcardhosts", Object: "VirtualService/a/w", Source: "w.yaml", Message: "hosts has *"},
	}}
	want := "policy meshintent.weights denied VirtualService/a/r in r.yaml at spec.http[0].route: weights sum to 90, not 100 (and 1 more denial)"
	if got := deniedMessage(r); got != want {
		t.Errorf("deniedMessage =\n%q\nwant\n%q", got, want)
	}
}

func TestLabel(t *testing.T) {
	set := manifest.Set{
		object("VirtualService", "a", "r", "r.yaml", ""),
		object("DestinationRule", "a", "r", "r.yaml", ""),
	}
	set[0].SetLabels(map[string]string{manifest.ManagedByLabel: manifest.ManagedByValue})
	got := label(set, "team", "mesh")
	wants := []map[string]string{
		{manifest.ManagedByLabel: manifest.ManagedByValue, SyncNamespaceLabel: "team", SyncNameLabel: "mesh"},
		{SyncNamespaceLabel: "team", SyncNameLabel: "mesh"},
	}
	for i, want := range wants {
		if diff := cmp.Diff(want, got[i].GetLabels()); diff != "" {
			t.Errorf("labels of %s (-want +got):\n%s", got[i].ID(), diff)
		}
	}
}

func TestPolicyStatusCarriesWaivers(t *testing.T) {
	expires := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	mt := metav1.NewTime(expires)
	for _, tc := range []struct {
		name   string
		result validate.Result
		want   v1alpha1.PolicyResult
	}{
		{
			name: "a waived denial carries its reason, expiry and author",
			result: validate.Result{Severity: validate.SeverityWaived, Policy: "meshintent.faults", Object: "VirtualService/a/r", Message: "fault injection",
				Waived: &validate.Waiver{Reason: "chaos drill", Expires: expires, By: "meshintent.yaml:12"}},
			want: v1alpha1.PolicyResult{Severity: "waived", Policy: "meshintent.faults", Object: "VirtualService/a/r", Message: "fault injection",
				Waived: &v1alpha1.PolicyWaiver{Reason: "chaos drill", Expires: &mt, By: "meshintent.yaml:12"}},
		},
		{
			name: "a waiver that does not lapse has no expiry",
			result: validate.Result{Severity: validate.SeverityWaived, Policy: "team.x", Object: "ServiceIntent/a/r", Message: "m",
				Waived: &validate.Waiver{Reason: "legacy", By: "data.team.exception in policies/x.rego"}},
			want: v1alpha1.PolicyResult{Severity: "waived", Policy: "team.x", Object: "ServiceIntent/a/r", Message: "m",
				Waived: &v1alpha1.PolicyWaiver{Reason: "legacy", By: "data.team.exception in policies/x.rego"}},
		},
		{
			name:   "a denial has no waiver",
			result: validate.Result{Severity: validate.SeverityDeny, Policy: "p", Object: "o", Message: "m"},
			want:   v1alpha1.PolicyResult{Severity: "deny", Policy: "p", Object: "o", Message: "m"},
		},
		{
			name:   "an Istio analyzer message code is kept",
			result: validate.Result{Severity: validate.SeverityDeny, Policy: "meshintent.live", Code: "IST0101", Object: "VirtualService/a/r", Field: "spec.http[0].route[0].destination.host", Message: `Referenced host not found: "r"`},
			want:   v1alpha1.PolicyResult{Severity: "deny", Policy: "meshintent.live", Code: "IST0101", Object: "VirtualService/a/r", Field: "spec.http[0].route[0].destination.host", Message: `Referenced host not found: "r"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := policyStatus("rev", &validate.Report{Results: []validate.Result{tc.result}})
			if diff := cmp.Diff([]v1alpha1.PolicyResult{tc.want}, got.Results); diff != "" {
				t.Errorf("status results (-want +got):\n%s", diff)
			}
		})
	}
}

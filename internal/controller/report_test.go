package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/report"
)

// wizardVS is the VirtualService a drift scenario makes the way Kiali's
// request routing wizard does.
const wizardVS = "reviews-wizard"

// driftScenario is an IntentSync "mesh" in report mode whose cluster has
// drifted in every way a report shows: a weight of VirtualService reviews
// edited by "kubectl-edit" (drift and a conflict), DestinationRule ratings
// deleted (missing), and an unmanaged Kiali wizard VirtualService.
type driftScenario struct {
	NS       string
	Revision string
	RepoURL  string
	Obj      *v1alpha1.IntentSync
	Manager  *testManager
}

// newDriftScenario applies the scenario's repository with a manager
// started with mod, then drifts the cluster. clean leaves it in sync.
func newDriftScenario(t *testing.T, mod func(*Options), clean bool) *driftScenario {
	t.Helper()
	ns := env.Namespace(t)
	repo := newIntentRepo(t, map[string]string{
		"reviews.yaml": serviceIntent(ns, "reviews", 80, 20),
		"ratings.yaml": serviceIntent(ns, "ratings", 90, 10),
	})
	m := startManager(t, ns, mod)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) { s.DriftMode = v1alpha1.DriftModeReport })
	rev := "main@sha1:" + repo.head
	obj = waitReady(t, obj, rev, 30*time.Second)
	sc := &driftScenario{NS: ns, Revision: rev, RepoURL: repo.srv.URL, Obj: obj, Manager: m}
	if clean {
		return sc
	}

	kubectlEdit(t, ns, "reviews", 50, 50)
	dr := mustGet(t, drGVK, ns, "ratings")
	if err := env.Client.Delete(t.Context(), dr); err != nil {
		t.Fatalf("deleting DestinationRule ratings: %v", err)
	}
	wiz := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": wizardVS, "namespace": ns, "labels": map[string]any{apply.KialiWizardLabel: "request_routing"}},
		"spec": map[string]any{
			"hosts": []any{"reviews"},
			"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}}}}},
		},
	}}
	wiz.SetGroupVersionKind(vsGVK)
	if err := env.Client.Create(t.Context(), wiz, client.FieldOwner("kiali")); err != nil {
		t.Fatalf("creating the Kiali wizard VirtualService: %v", err)
	}
	return sc
}

// setDriftReport sets spec.driftReport of obj.
func setDriftReport(t *testing.T, obj *v1alpha1.IntentSync, spec *v1alpha1.DriftReportSpec) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := getSync(t, obj)
		got.Spec.DriftReport = spec
		return env.Client.Update(t.Context(), got)
	})
	if err != nil {
		t.Fatalf("setting spec.driftReport: %v", err)
	}
}

// waitReport waits until obj's report ConfigMap holds a report for which
// ok returns nil, and returns the ConfigMap and the report.
func waitReport(t *testing.T, obj *v1alpha1.IntentSync, timeout time.Duration, ok func(*report.Report) error) (*corev1.ConfigMap, *report.Report) {
	t.Helper()
	var cm *corev1.ConfigMap
	var rep *report.Report
	eventually(t, timeout, func() error {
		cm = &corev1.ConfigMap{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: obj.Namespace, Name: ReportConfigMapName(obj)}, cm); err != nil {
			return err
		}
		rep = &report.Report{}
		if err := json.Unmarshal([]byte(cm.Data[ReportJSONKey]), rep); err != nil {
			return fmt.Errorf("report.json: %w", err)
		}
		return ok(rep)
	})
	return cm, rep
}

// hasAllFindings accepts a report naming the scenario's drift.
func hasAllFindings(r *report.Report) error {
	if len(r.Drifted) == 0 || len(r.Missing) == 0 || len(r.Unmanaged) == 0 || len(r.Conflicts) == 0 {
		return fmt.Errorf("report lacks findings: %s", r.Line())
	}
	return nil
}

// scenarioFindings are the findings of a drift scenario in namespace ns.
type scenarioFindings struct {
	Drifted   []apply.FieldDiff
	Missing   []string
	Unmanaged []string
	Conflicts []report.Conflict
}

func wantFindings(ns string) scenarioFindings {
	vs := "VirtualService/" + ns + "/reviews"
	return scenarioFindings{
		Drifted: []apply.FieldDiff{
			{ID: vs, Source: "reviews.yaml", Path: ".spec.http[0].route[0].weight", Pointer: "/spec/http/0/route/0/weight", Want: 80.0, Have: 50.0, Manager: "kubectl-edit"},
			{ID: vs, Source: "reviews.yaml", Path: ".spec.http[0].route[1].weight", Pointer: "/spec/http/0/route/1/weight", Want: 20.0, Have: 50.0, Manager: "kubectl-edit"},
		},
		Missing:   []string{"DestinationRule/" + ns + "/ratings"},
		Unmanaged: []string{"VirtualService/" + ns + "/" + wizardVS + " wizard=request_routing"},
		Conflicts: []report.Conflict{{ID: vs, Source: "reviews.yaml", Field: ".spec.http", Manager: "kubectl-edit"}},
	}
}

func findingsOf(r *report.Report) scenarioFindings {
	f := scenarioFindings{Drifted: r.Drifted, Conflicts: r.Conflicts}
	for _, m := range r.Missing {
		f.Missing = append(f.Missing, m.ID)
	}
	for _, u := range r.Unmanaged {
		f.Unmanaged = append(f.Unmanaged, u.ID+" wizard="+u.KialiWizard)
	}
	return f
}

func TestScheduledDriftReport(t *testing.T) {
	t.Parallel()
	sc := newDriftScenario(t, nil, false)
	ns, obj := sc.NS, sc.Obj
	// The webhook fails twice, then takes every report, slowly: each run
	// takes over 3s (two retries, then 300ms) on a schedule of every second.
	hook := newReceiver(t, 500, 503, 200)
	hook.delay = 300 * time.Millisecond
	hookURL := hook.URL + "/services/T000/B000/XXXXSECRET"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "slack"}, StringData: map[string]string{WebhookURLKey: hookURL}}
	if err := env.Client.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	setDriftReport(t, obj, &v1alpha1.DriftReportSpec{Schedule: "@every 1s", TimeZone: "Europe/Berlin", WebhookSecretRef: &v1alpha1.LocalObjectReference{Name: "slack"}})

	cm, rep := waitReport(t, obj, 30*time.Second, hasAllFindings)

	t.Run("the report names the edited weights, the deleted object, the wizard object and the conflict", func(t *testing.T) {
		if diff := cmp.Diff(wantFindings(ns), findingsOf(rep)); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		if rep.Revision != sc.Revision || rep.IntentSync != ns+"/mesh" || rep.AppliedAt == nil {
			t.Errorf("revision %q, IntentSync %q, appliedAt %v; want %s, %s/mesh and a time", rep.Revision, rep.IntentSync, rep.AppliedAt, sc.Revision, ns)
		}
	})

	t.Run("the Markdown report has the same findings in tables", func(t *testing.T) {
		md := cm.Data[ReportMarkdownKey]
		for _, want := range []string{
			"# Drift report: " + ns + "/mesh",
			"| `VirtualService/" + ns + "/reviews` | `.spec.http[0].route[0].weight` | `80` | `50` | `kubectl-edit` |",
			"## Missing objects", "| `DestinationRule/" + ns + "/ratings` | `ratings.yaml` |",
			"| `VirtualService/" + ns + "/" + wizardVS + "` | ⚠ `request_routing` |",
			"| `VirtualService/" + ns + "/reviews` | `.spec.http` | `kubectl-edit` |",
			"| Last applied revision | `" + sc.Revision + "` |",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("report.md lacks %q:\n%s", want, md)
			}
		}
	})

	t.Run("the ConfigMap is labelled as meshintent's and owned by the IntentSync", func(t *testing.T) {
		want := map[string]string{"app.kubernetes.io/managed-by": "meshintent", SyncNamespaceLabel: ns, SyncNameLabel: "mesh"}
		if diff := cmp.Diff(want, cm.Labels); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		owners := cm.OwnerReferences
		if len(owners) != 1 || owners[0].Kind != v1alpha1.IntentSyncKind || owners[0].Name != "mesh" || owners[0].UID != obj.UID {
			t.Errorf("owner references = %+v, want the IntentSync", owners)
		}
	})

	t.Run("status.driftReport records the run, the next run, the summary and the ConfigMap", func(t *testing.T) {
		// The ConfigMap is written first, status right after it.
		eventually(t, 5*time.Second, func() error {
			got := getSync(t, obj).Status.DriftReport
			if got == nil || got.LastRunTime == nil || got.NextRunTime == nil {
				return fmt.Errorf("status.driftReport = %+v, want run times", got)
			}
			if got.LastRunTime.Time.Before(started.Add(-time.Second)) || !got.NextRunTime.After(got.LastRunTime.Time) {
				return fmt.Errorf("lastRunTime %s, nextRunTime %s: want a recent run and a later next one", got.LastRunTime, got.NextRunTime)
			}
			if got.ConfigMap != ReportConfigMapName(obj) || !strings.Contains(got.Summary, "2 fields drifted in 1 object, 1 object missing") {
				return fmt.Errorf("configMap %q, summary %q", got.ConfigMap, got.Summary)
			}
			return nil
		})
		c := condition(getSync(t, obj), ConditionDriftReportScheduled)
		if c.Status != metav1.ConditionTrue || c.Reason != ReasonReportScheduled {
			t.Errorf("DriftReportScheduled = %s %s %q, want True Scheduled", c.Status, c.Reason, c.Message)
		}
	})

	t.Run("a Warning Event names the findings", func(t *testing.T) {
		eventually(t, 5*time.Second, func() error {
			for _, m := range eventsOfType(t, obj, EventDriftReport, corev1.EventTypeWarning) {
				if strings.Contains(m, "2 fields drifted") && strings.Contains(m, "ConfigMap "+ns+"/mesh-drift-report") {
					return nil
				}
			}
			return fmt.Errorf("no Warning DriftReport event; have %q", events(t, obj, EventDriftReport))
		})
	})

	t.Run("the webhook gets the Slack message after two failed attempts", func(t *testing.T) {
		var got []string
		eventually(t, 15*time.Second, func() error {
			if got = hook.received(); len(got) < 3 {
				return fmt.Errorf("%d requests", len(got))
			}
			return nil
		})
		var msg report.SlackMessage
		if err := json.Unmarshal([]byte(strings.TrimPrefix(got[2], "application/json ")), &msg); err != nil {
			t.Fatalf("third delivery: %v: %s", err, got[2])
		}
		if !strings.Contains(msg.Text, "Drift report for IntentSync "+ns+"/mesh: 2 fields drifted") || len(msg.Blocks) != 4 {
			t.Errorf("Slack message = %+v", msg)
		}
		if f := events(t, obj, EventDriftReportDeliveryFailed); len(f) > 0 {
			t.Errorf("delivery failed: %q", f)
		}
	})

	t.Run("runs never overlap and the skipped ones are reported", func(t *testing.T) {
		if n := hook.maxInFlight.Load(); n != 1 {
			t.Errorf("the webhook had %d deliveries at once, want 1", n)
		}
		eventually(t, 10*time.Second, func() error {
			if dr := getSync(t, obj).Status.DriftReport; dr == nil || dr.MissedRuns == 0 {
				return fmt.Errorf("status.driftReport.missedRuns = 0")
			}
			return nil
		})
		waitEvent(t, obj, EventDriftReportMissed, 5*time.Second, "skipped the drift report due", "is still going")
	})

	t.Run("no Event or status holds the webhook URL", func(t *testing.T) {
		host := strings.TrimPrefix(hook.URL, "http://")
		list := &corev1.EventList{}
		if err := env.Client.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Items {
			if strings.Contains(e.Message, host) || strings.Contains(e.Message, "XXXXSECRET") {
				t.Errorf("Event %s holds the webhook URL: %s", e.Reason, e.Message)
			}
		}
		b, _ := json.Marshal(getSync(t, obj).Status)
		if strings.Contains(string(b), host) || strings.Contains(string(b), "XXXXSECRET") {
			t.Errorf("status holds the webhook URL: %s", b)
		}
	})

	t.Run("removing spec.driftReport stops the runs", func(t *testing.T) {
		setDriftReport(t, obj, nil)
		eventually(t, 10*time.Second, func() error {
			got := getSync(t, obj)
			if c := condition(got, ConditionDriftReportScheduled); c.Status != "" {
				return fmt.Errorf("DriftReportScheduled is still %s", c.Status)
			}
			if got.Status.DriftReport.NextRunTime != nil {
				return fmt.Errorf("nextRunTime is still %s", got.Status.DriftReport.NextRunTime)
			}
			return nil
		})
		time.Sleep(2 * time.Second) // let a run in flight finish
		before := sc.Manager.reports.started.Load()
		time.Sleep(2 * time.Second)
		if n := sc.Manager.reports.started.Load() - before; n != 0 {
			t.Errorf("%d runs started after the schedule was removed", n)
		}
	})
}

func TestDriftReportDeliveryFailure(t *testing.T) {
	t.Parallel()
	sc := newDriftScenario(t, nil, true)
	hook := newReceiver(t, 500)
	hookURL := hook.URL + "/services/T000/B000/XXXXSECRET"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sc.NS, Name: "slack"}, StringData: map[string]string{WebhookURLKey: hookURL}}
	if err := env.Client.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	setDriftReport(t, sc.Obj, &v1alpha1.DriftReportSpec{Schedule: "@every 1s", WebhookSecretRef: &v1alpha1.LocalObjectReference{Name: "slack"}})
	waitReport(t, sc.Obj, 30*time.Second, func(r *report.Report) error {
		if !r.Clean() {
			return fmt.Errorf("not clean: %s", r.Line())
		}
		return nil
	})

	t.Run("a clean cluster gives a Normal Event", func(t *testing.T) {
		eventually(t, 5*time.Second, func() error {
			if len(eventsOfType(t, sc.Obj, EventDriftReport, corev1.EventTypeNormal)) == 0 {
				return fmt.Errorf("no Normal DriftReport event")
			}
			return nil
		})
		if w := eventsOfType(t, sc.Obj, EventDriftReport, corev1.EventTypeWarning); len(w) > 0 {
			t.Errorf("Warning DriftReport events for a clean cluster: %q", w)
		}
	})

	t.Run("a webhook that keeps failing gives a DriftReportDeliveryFailed Event without the URL", func(t *testing.T) {
		msg := waitEvent(t, sc.Obj, EventDriftReportDeliveryFailed, 20*time.Second,
			"webhook of Secret "+sc.NS+"/slack failed: attempt 3 of 3: the webhook answered 500 Internal Server Error")
		if strings.Contains(msg, strings.TrimPrefix(hook.URL, "http://")) || strings.Contains(msg, "XXXXSECRET") {
			t.Errorf("Event holds the URL: %s", msg)
		}
	})
}

func TestDriftReportScheduleInvalid(t *testing.T) {
	t.Parallel()
	sc := newDriftScenario(t, nil, true)
	obj := sc.Obj

	waitInvalid := func(t *testing.T, want string) {
		t.Helper()
		eventually(t, 10*time.Second, func() error {
			c := condition(getSync(t, obj), ConditionDriftReportScheduled)
			if c.Status != metav1.ConditionFalse || c.Reason != ReasonReportScheduleInvalid || !strings.Contains(c.Message, want) {
				return fmt.Errorf("DriftReportScheduled = %s %s %q, want False %s with %q", c.Status, c.Reason, c.Message, ReasonReportScheduleInvalid, want)
			}
			return nil
		})
		waitEvent(t, obj, ReasonReportScheduleInvalid, 5*time.Second, want)
	}

	t.Run("an invalid schedule gives a False condition and a Warning Event", func(t *testing.T) {
		setDriftReport(t, obj, &v1alpha1.DriftReportSpec{Schedule: "every morning"})
		waitInvalid(t, `spec.driftReport.schedule "every morning" is invalid`)
	})

	t.Run("an invalid time zone gives a False condition and a Warning Event", func(t *testing.T) {
		setDriftReport(t, obj, &v1alpha1.DriftReportSpec{Schedule: "@every 1s", TimeZone: "Mars/Olympus"})
		waitInvalid(t, `spec.driftReport.timeZone "Mars/Olympus" is not a known IANA time zone`)
	})

	t.Run("no report runs while the schedule is invalid and the controller keeps syncing", func(t *testing.T) {
		time.Sleep(2 * time.Second)
		err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: sc.NS, Name: ReportConfigMapName(obj)}, &corev1.ConfigMap{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("report ConfigMap: %v, want NotFound", err)
		}
		if n := sc.Manager.reports.started.Load(); n != 0 {
			t.Errorf("%d runs started", n)
		}
		got := getSync(t, obj)
		if !isReady(got) || got.Status.DriftReport != nil && got.Status.DriftReport.NextRunTime != nil {
			t.Errorf("Ready %t, driftReport %+v; want Ready and no next run", isReady(got), got.Status.DriftReport)
		}
	})

	t.Run("fixing the time zone schedules the reports", func(t *testing.T) {
		setDriftReport(t, obj, &v1alpha1.DriftReportSpec{Schedule: "@every 1s", TimeZone: "UTC"})
		waitReport(t, obj, 20*time.Second, func(*report.Report) error { return nil })
		c := condition(getSync(t, obj), ConditionDriftReportScheduled)
		want := `drift reports run on schedule "@every 1s" in time zone UTC`
		if c.Status != metav1.ConditionTrue || c.Message != want {
			t.Errorf("DriftReportScheduled = %s %q, want True %q", c.Status, c.Message, want)
		}
	})
}

func TestDriftReportCatchesUpAfterAnOutage(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	rev := "main@sha1:" + repo.head
	// An IntentSync a controller reported on hourly until 3h30m ago, with the
	// revision it applied then.
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.DriftMode = v1alpha1.DriftModeReport
		s.DriftReport = &v1alpha1.DriftReportSpec{Schedule: "@every 1h"}
	})
	last := time.Now().Add(-3*time.Hour - 30*time.Minute).Truncate(time.Second)
	obj.Status.LastAppliedRevision = rev
	obj.Status.LastAppliedTime = &metav1.Time{Time: last}
	obj.Status.DriftReport = &v1alpha1.DriftReportStatus{
		LastRunTime: &metav1.Time{Time: last}, NextRunTime: &metav1.Time{Time: last.Add(time.Hour)}, MissedRuns: 1,
	}
	if err := env.Client.Status().Update(t.Context(), obj); err != nil {
		t.Fatalf("setting status: %v", err)
	}

	startManager(t, ns, nil)

	t.Run("the three runs due meanwhile are counted and reported", func(t *testing.T) {
		eventually(t, 20*time.Second, func() error {
			if dr := getSync(t, obj).Status.DriftReport; dr.MissedRuns != 4 {
				return fmt.Errorf("missedRuns = %d, want 1 + 3", dr.MissedRuns)
			}
			return nil
		})
		waitEvent(t, obj, EventDriftReportMissed, 5*time.Second, "3 drift reports were missed while no controller was leading",
			"last run "+formatTime(last), "first missed run due "+formatTime(last.Add(time.Hour)), "running one now")
	})

	t.Run("one run is made at once from the last applied revision", func(t *testing.T) {
		_, rep := waitReport(t, obj, 20*time.Second, func(*report.Report) error { return nil })
		if rep.Revision != rev || rep.GeneratedAt.Before(time.Now().Add(-time.Minute)) {
			t.Errorf("report of %s generated %s, want %s now", rep.Revision, rep.GeneratedAt, rev)
		}
		eventually(t, 5*time.Second, func() error {
			dr := getSync(t, obj).Status.DriftReport
			if !dr.LastRunTime.After(last.Add(3*time.Hour)) || dr.NextRunTime.Sub(dr.LastRunTime.Time).Round(time.Second) != time.Hour {
				return fmt.Errorf("lastRunTime %s, nextRunTime %s; want now and an hour later", dr.LastRunTime, dr.NextRunTime)
			}
			return nil
		})
	})
}

func TestOnlyTheLeaderRunsDriftReports(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	elect := electing(ns)
	elected := func(t *testing.T, m *testManager) {
		t.Helper()
		select {
		case <-m.Elected():
		case <-time.After(30 * time.Second):
			t.Fatal("the manager was not elected")
		}
	}
	a := startManager(t, ns, elect)
	elected(t, a)
	b := startManager(t, ns, elect)
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.DriftReport = &v1alpha1.DriftReportSpec{Schedule: "@every 1s"}
	})
	waitReady(t, obj, "main@sha1:"+repo.head, 30*time.Second)
	waitReport(t, obj, 20*time.Second, func(*report.Report) error { return nil })

	t.Run("the scheduler needs leader election", func(t *testing.T) {
		if !a.reports.NeedLeaderElection() {
			t.Error("NeedLeaderElection() = false")
		}
	})

	t.Run("only the leader runs reports", func(t *testing.T) {
		if a.reports.started.Load() == 0 {
			t.Error("the leader ran no report")
		}
		if n := b.reports.started.Load(); n != 0 {
			t.Errorf("the other replica ran %d reports, want 0", n)
		}
	})

	t.Run("a leader elected after an outage reports the runs missed and runs one at once", func(t *testing.T) {
		b.stop(t)
		a.stop(t)
		before := getSync(t, obj).Status.DriftReport
		time.Sleep(2500 * time.Millisecond) // at least two runs are due meanwhile
		c := startManager(t, ns, elect)
		elected(t, c)
		waitEvent(t, obj, EventDriftReportMissed, 10*time.Second, "missed while no controller was leading",
			"last run "+formatTime(before.LastRunTime.Time), "running one now")
		eventually(t, 10*time.Second, func() error {
			if dr := getSync(t, obj).Status.DriftReport; !dr.LastRunTime.After(before.LastRunTime.Time) {
				return fmt.Errorf("lastRunTime is still %s", dr.LastRunTime)
			}
			return nil
		})
		if after := getSync(t, obj).Status.DriftReport.MissedRuns; after < before.MissedRuns+2 {
			t.Errorf("missedRuns %d → %d, want at least 2 more", before.MissedRuns, after)
		}
	})
}

// TestReportEntriesFollowTheSpec checks the cron entries directly: one per
// IntentSync, replaced when the schedule changes and removed with it.
func TestReportEntriesFollowTheSpec(t *testing.T) {
	t.Parallel()
	sc := newDriftScenario(t, nil, true)
	entries := func() []string {
		s := sc.Manager.reports
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []string
		for key, e := range s.entries {
			out = append(out, key.Name+" "+e.schedule)
		}
		slices.Sort(out)
		return out
	}
	waitEntries := func(t *testing.T, want []string) {
		t.Helper()
		eventually(t, 10*time.Second, func() error {
			if diff := cmp.Diff(want, entries()); diff != "" {
				return fmt.Errorf("entries (-want +got):\n%s", diff)
			}
			return nil
		})
	}

	t.Run("a schedule makes an entry", func(t *testing.T) {
		setDriftReport(t, sc.Obj, &v1alpha1.DriftReportSpec{Schedule: "@hourly"})
		waitEntries(t, []string{"mesh @hourly"})
	})
	t.Run("a new schedule replaces it and moves the next run", func(t *testing.T) {
		setDriftReport(t, sc.Obj, &v1alpha1.DriftReportSpec{Schedule: "0 7 * * 1-5", TimeZone: "Europe/Berlin"})
		waitEntries(t, []string{"mesh 0 7 * * 1-5"})
		eventually(t, 10*time.Second, func() error {
			next := getSync(t, sc.Obj).Status.DriftReport.NextRunTime
			if next == nil || next.In(mustZone(t, "Europe/Berlin")).Format("15:04") != "07:00" {
				return fmt.Errorf("nextRunTime = %v, want 07:00 in Berlin", next)
			}
			return nil
		})
	})
	t.Run("deleting the IntentSync removes it", func(t *testing.T) {
		if err := env.Client.Delete(t.Context(), sc.Obj); err != nil {
			t.Fatal(err)
		}
		waitEntries(t, nil)
	})
}

func TestDriftReportFailure(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	repo := newReviewsRepo(t, ns)
	// A revision was applied, but this controller has none in memory and
	// the Git server is down: the revision cannot be rendered again.
	obj := newIntentSync(t, ns, repo, func(s *v1alpha1.IntentSyncSpec) {
		s.DriftReport = &v1alpha1.DriftReportSpec{Schedule: "@every 1s"}
	})
	obj.Status.LastAppliedRevision = "main@sha1:" + repo.head
	if err := env.Client.Status().Update(t.Context(), obj); err != nil {
		t.Fatalf("setting status: %v", err)
	}
	repo.srv.Stop()
	startManager(t, ns, nil)

	t.Run("a run that cannot render the revision gives a DriftReportFailed Event and says so in status", func(t *testing.T) {
		waitEvent(t, obj, EventDriftReportFailed, 15*time.Second, "drift report failed: fetch "+repo.srv.URL)
		eventually(t, 5*time.Second, func() error {
			dr := getSync(t, obj).Status.DriftReport
			if dr == nil || dr.LastRunTime == nil || !strings.HasPrefix(dr.Summary, "drift report failed: fetch") {
				return fmt.Errorf("status.driftReport = %+v", dr)
			}
			return nil
		})
	})
}

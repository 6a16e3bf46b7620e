package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/syncbuf"
	"github.com/meshintent/meshintent/internal/testenv"
)

const (
	statusSHA    = "0123456789abcdef0123456789abcdef01234567"
	statusRev    = "main@sha1:" + statusSHA
	statusShort  = "main@sha1:0123456789ab"
	driftedEntry = "VirtualService/bookinfo/reviews .spec.http[0].route[0].weight: want 80, have 50 (kubectl-edit)"
)

// startStatusEnv starts a control plane for the status tests alone (the
// other tests of this package need none); it stops when t ends.
func startStatusEnv(t *testing.T) *testenv.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	env, err := testenv.StartWithOptions(ctx, testenv.Options{StopTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil && !testenv.IsStopTimeout(err) {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return env
}

// createSync creates an IntentSync named name in ns and writes status to
// its status subresource.
func createSync(t *testing.T, env *testenv.Env, ns, name string, spec v1alpha1.IntentSyncSpec, status v1alpha1.IntentSyncStatus) *v1alpha1.IntentSync {
	t.Helper()
	obj := &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := env.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating IntentSync %s: %v", name, err)
	}
	obj.Status = status
	if err := env.Client.Status().Update(t.Context(), obj); err != nil {
		t.Fatalf("writing the status of IntentSync %s: %v", name, err)
	}
	return obj
}

func readyCondition(status metav1.ConditionStatus, reason, msg string) []metav1.Condition {
	return []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}}
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestStatusCommand runs reconciler status against a real API server
// holding IntentSyncs with the statuses the controller writes.
func TestStatusCommand(t *testing.T) {
	env := startStatusEnv(t)
	ns := env.Namespace(t)
	other := env.Namespace(t)
	kubeconfig := env.Kubeconfig(t)
	src := v1alpha1.IntentSyncSpec{Source: v1alpha1.GitSource{URL: "https://bot:hunter2@git.example.com/mesh.git", Branch: "main", Path: "overlays/prod"}}
	applied := metav1.NewTime(time.Now().Add(-5 * time.Minute))
	next := metav1.NewTime(time.Now().Add(time.Hour))

	createSync(t, env, ns, "ready", src, v1alpha1.IntentSyncStatus{
		Conditions:          readyCondition(metav1.ConditionTrue, v1alpha1.ReasonSynced, "applied revision "+statusRev),
		LastFetchedRevision: statusRev, LastAppliedRevision: statusRev, LastAppliedTime: &applied,
		LastAppliedCommit: &v1alpha1.CommitInfo{Subject: "reviews: more to v2", Author: "Ada"},
		Inventory:         &v1alpha1.InventoryStatus{Total: 3, Entries: []string{"VirtualService/bookinfo/reviews", "DestinationRule/bookinfo/reviews", "Namespace/bookinfo"}},
		Drift:             &v1alpha1.DriftStatus{CheckedAt: metav1.Now()},
		Policy: &v1alpha1.PolicyStatus{Revision: statusRev, Warnings: 1, Results: []v1alpha1.PolicyResult{
			{Severity: "warn", Policy: "meshintent.retries", Object: "ServiceIntent/bookinfo/reviews", Source: "reviews.yaml", Line: 7, Message: "no retries"},
		}},
		DriftReport: &v1alpha1.DriftReportStatus{LastRunTime: &applied, NextRunTime: &next, Summary: "clean", ConfigMap: "mesh-drift-report"},
		History:     []v1alpha1.Attempt{{Revision: statusRev, Result: v1alpha1.ReasonSynced, StartedAt: applied, Duration: metav1.Duration{Duration: 1500 * time.Millisecond}, Message: "2 created"}},
	})
	drifted := createSync(t, env, ns, "drifted", src, v1alpha1.IntentSyncStatus{
		Conditions:          readyCondition(metav1.ConditionFalse, v1alpha1.ReasonDriftDetected, "1 object drifted from Git: "+driftedEntry),
		LastAppliedRevision: statusRev, LastAppliedTime: &applied,
		Inventory: &v1alpha1.InventoryStatus{Total: 2},
		Drift: &v1alpha1.DriftStatus{CheckedAt: metav1.Now(), Drifted: 1, Missing: 1, Entries: []string{
			driftedEntry, "DestinationRule/bookinfo/reviews: missing (deleted from the cluster)",
		}},
		Policy: &v1alpha1.PolicyStatus{Revision: statusRev},
	})
	createSync(t, env, ns, "denied", src, v1alpha1.IntentSyncStatus{
		Conditions:          readyCondition(metav1.ConditionFalse, v1alpha1.ReasonPolicyDenied, "denied by 1 policy result"),
		LastFetchedRevision: "main@sha1:fedcba9876543210fedcba9876543210fedcba98",
		Policy: &v1alpha1.PolicyStatus{Revision: "main@sha1:fedcba9876543210fedcba9876543210fedcba98", Denials: 1, Results: []v1alpha1.PolicyResult{
			{Severity: "deny", Policy: "meshintent.weights", Object: "VirtualService/bookinfo/reviews", Source: "base/reviews.yaml:12", Message: "weights sum to 90, not 100"},
		}},
	})
	createSync(t, env, other, "elsewhere", src, v1alpha1.IntentSyncStatus{
		Conditions: readyCondition(metav1.ConditionTrue, v1alpha1.ReasonSynced, "applied revision "+statusRev),
	})

	tests := []struct {
		name string
		args []string
		code int
		// want are regular expressions, each matching a line of stdout
		// in this order (other lines may come between).
		want []string
		// anyOrder matches want in any order (namespaces are random).
		anyOrder bool
		// lineCount, when set, is the number of non-empty lines.
		lineCount int
		// absent must appear nowhere in stdout.
		absent []string
	}{
		{
			name: "the table has a line per IntentSync of the namespace and exits 1 as some are not Ready",
			args: []string{"status", "-n", ns},
			code: ExitDenied,
			want: []string{
				`^NAME\s+REVISION\s+READY\s+DRIFT\s+POLICY\s+MESSAGE\s+AGE$`,
				`^denied\s+-\s+False\s+-\s+1 deny\s+PolicyDenied: denied by 1 policy result\s+\d+s$`,
				`^drifted\s+` + statusShort + `\s+False\s+1 drifted, 1 missing\s+pass\s+DriftDetected: 1 object drifted from Git: VirtualService/bookinfo/\S*…\s+\d+s$`,
				`^ready\s+` + statusShort + `\s+True\s+in sync\s+1 warn\s+applied revision ` + statusRev + `\s+\d+s$`,
			},
			lineCount: 4,
			absent:    []string{"elsewhere"},
		},
		{
			name: "-o wide adds the cluster, the source without credentials and the last apply",
			args: []string{"status", "-n", ns, "-o", "wide"},
			code: ExitDenied,
			want: []string{
				`^NAME\s+REVISION\s+READY\s+DRIFT\s+POLICY\s+MESSAGE\s+AGE\s+CLUSTER\s+SOURCE\s+LAST APPLIED$`,
				`^drifted\s.*reviews \.spec\.http\[0\]\.route\[0\]\.weight: want 80, have 50 \(kubectl-edit\)\s+\d+s\s+in-cluster\s+https://git\.example\.com/mesh\.git@main\s+5m\d*s? ago$`,
			},
			absent: []string{"hunter2"},
		},
		{
			name:     "-A adds the namespace and lists every namespace",
			args:     []string{"status", "-A"},
			code:     ExitDenied,
			want:     []string{`^NAMESPACE\s+NAME\s+REVISION`, `^` + ns + `\s+denied\s`, `^` + other + `\s+elsewhere\s+-\s+True\s`},
			anyOrder: true,
		},
		{
			name: "a namespace whose IntentSyncs are all Ready exits 0",
			args: []string{"status", "-n", other},
			code: ExitOK,
			want: []string{`^NAME\s`, `^elsewhere\s+-\s+True\s`},
		},
		{
			name: "NAME prints the detail: conditions, source, revisions, objects, policy and history",
			args: []string{"status", "-n", ns, "ready"},
			code: ExitOK,
			want: []string{
				`^Name:\s+ready$`, `^Namespace:\s+` + ns + `$`, `^Cluster:\s+in-cluster$`,
				`^Source:\s+https://git\.example\.com/mesh\.git@main \(path overlays/prod\)$`,
				`^Applied revision:\s+` + statusRev + ` "reviews: more to v2" by Ada$`,
				`^Last applied:\s+\d{4}-\d\d-\d\dT.*Z \(5m\d*s? ago\)$`,
				`^Objects:\s+3$`,
				`^Conditions:$`, `^  TYPE\s+STATUS\s+REASON\s+MESSAGE$`, `^  Ready\s+True\s+Synced\s+applied revision ` + statusRev + `$`,
				`^Drift: in sync, checked \d+s ago$`,
				`^Policy: 1 warn \(revision ` + statusRev + `\)$`,
				`^  SEVERITY\s+POLICY\s+FILE:LINE\s+OBJECT\s+MESSAGE$`,
				`^  warn\s+meshintent\.retries\s+reviews\.yaml:7\s+ServiceIntent/bookinfo/reviews\s+no retries$`,
				`^Drift reports:$`, `^  Last:\s+\S+ \(5m\d*s? ago\)$`, `^  Next:\s+\S+ \(in (59m|1h)(\d+s)?\)$`, `^  Summary:\s+clean$`, `^  ConfigMap:\s+mesh-drift-report$`,
				`^History:$`, `^  \S+ ago\s+` + statusShort + `\s+Synced\s+1\.5s\s+2 created$`,
			},
			absent: []string{"hunter2"},
		},
		{
			name: "a drifted IntentSync's detail lists its findings and exits 1",
			args: []string{"status", "-n", ns, "drifted"},
			code: ExitDenied,
			want: []string{
				`^  Ready\s+False\s+DriftDetected\s+1 object drifted`,
				`^Drift: 1 drifted, 1 missing, checked \d+s ago$`,
				`^  OBJECT\s+FIELD\s+WANT\s+HAVE\s+MANAGER$`,
				`^  VirtualService/bookinfo/reviews\s+\.spec\.http\[0\]\.route\[0\]\.weight\s+80\s+50\s+kubectl-edit$`,
				`^  DestinationRule/bookinfo/reviews\s+-\s+-\s+missing \(deleted from the cluster\)\s+-$`,
				`^Policy: pass \(revision ` + statusRev + `\)$`,
				`^Drift reports: not scheduled \(spec\.driftReport\)$`,
			},
		},
		{
			name: "a denied IntentSync's detail names the policy, file and line",
			args: []string{"status", "-n", ns, "denied"},
			code: ExitDenied,
			want: []string{
				`^Applied revision:\s+-$`,
				`^Objects:\s+-$`,
				`^Drift: none yet$`,
				`^Policy: 1 deny \(revision main@sha1:fedcba`,
				`^  deny\s+meshintent\.weights\s+base/reviews\.yaml:12\s+VirtualService/bookinfo/reviews\s+weights sum to 90, not 100$`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(tt.args, "--kubeconfig", kubeconfig)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			got := lines(stdout)
			i := 0
			for _, w := range tt.want {
				re := regexp.MustCompile(w)
				if tt.anyOrder {
					i = 0
				}
				for i < len(got) && !re.MatchString(got[i]) {
					i++
				}
				if i == len(got) {
					t.Errorf("no line matching %s (in order); stdout:\n%s", w, stdout)
					break
				}
				i++
			}
			if tt.lineCount > 0 && len(got) != tt.lineCount {
				t.Errorf("%d lines, want %d; stdout:\n%s", len(got), tt.lineCount, stdout)
			}
			for _, a := range tt.absent {
				if strings.Contains(stdout, a) {
					t.Errorf("stdout shows %q:\n%s", a, stdout)
				}
			}
		})
	}

	t.Run("an unknown NAME exits 2", func(t *testing.T) {
		code, _, stderr := run(t, "status", "-n", ns, "nope", "--kubeconfig", kubeconfig)
		if code != ExitError || !strings.Contains(stderr, "IntentSync "+ns+"/nope") || !strings.Contains(stderr, "not found") {
			t.Errorf("exit %d, stderr %q; want 2 and IntentSync %s/nope not found", code, stderr, ns)
		}
	})

	t.Run("an empty namespace says so on stderr and exits 0", func(t *testing.T) {
		empty := env.Namespace(t)
		code, stdout, stderr := run(t, "status", "-n", empty, "--kubeconfig", kubeconfig)
		if code != ExitOK || stdout != "" || !strings.Contains(stderr, "No IntentSyncs found in namespace "+empty) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("-o json prints the IntentSyncs as stored", func(t *testing.T) {
		_, stdout, _ := run(t, "status", "-n", ns, "-o", "json", "--kubeconfig", kubeconfig)
		list := decodeJSON[v1alpha1.IntentSyncList](t, stdout)
		if list.Kind != "List" || len(list.Items) != 3 || list.Items[1].Name != "drifted" || list.Items[1].Status.Drift.Entries[0] != driftedEntry {
			t.Errorf("got kind %q with %d items: %+v", list.Kind, len(list.Items), list.Items)
		}
	})

	t.Run("-o yaml NAME prints the one IntentSync", func(t *testing.T) {
		_, stdout, _ := run(t, "status", "-n", ns, "ready", "-o", "yaml", "--kubeconfig", kubeconfig)
		var obj v1alpha1.IntentSync
		if err := yaml.Unmarshal([]byte(strings.TrimPrefix(stdout, "---\n")), &obj); err != nil {
			t.Fatalf("decoding: %v\n%s", err, stdout)
		}
		if obj.Kind != v1alpha1.IntentSyncKind || obj.Name != "ready" || obj.Status.Inventory.Total != 3 {
			t.Errorf("got %s %s with inventory %+v", obj.Kind, obj.Name, obj.Status.Inventory)
		}
	})

	t.Run("-w prints a new line when a status changes, and none when the line would not change", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var out, errOut syncbuf.Buffer
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, []string{"status", "-n", ns, "-w", "--kubeconfig", kubeconfig}, &out, &errOut)
		}()
		testenv.Eventually(t, 30*time.Second, func() error {
			if n := len(lines(out.String())); n != 4 {
				return fmt.Errorf("%d lines, want the header and 3 rows:\n%s", n, out.String())
			}
			return nil
		})

		// A change that does not show in the line, then one that does.
		obj := &v1alpha1.IntentSync{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(drifted), obj); err != nil {
			t.Fatal(err)
		}
		obj.Status.ObservedGeneration = 7
		if err := env.Client.Status().Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
		obj.Status.Conditions = readyCondition(metav1.ConditionTrue, v1alpha1.ReasonSynced, "applied revision "+statusRev)
		obj.Status.Drift = &v1alpha1.DriftStatus{CheckedAt: metav1.Now(), Corrected: 1}
		if err := env.Client.Status().Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile(`^drifted\s+` + statusShort + `\s+True\s+in sync\s+pass\s+applied revision ` + statusRev + `\s+\d+s$`)
		testenv.Eventually(t, 30*time.Second, func() error {
			got := lines(out.String())
			if len(got) < 5 || !want.MatchString(got[4]) {
				return fmt.Errorf("no new line matching %s after the table:\n%s", want, out.String())
			}
			return nil
		})
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("exit %d after interruption, want 0; stderr:\n%s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("status -w did not stop when its context was cancelled")
		}
		if got := lines(out.String()); len(got) != 5 {
			t.Errorf("%d lines, want the table and one new line (the invisible change prints none):\n%s", len(got), out.String())
		}
	})

	t.Run("-w -o json streams the list, then a document per change", func(t *testing.T) {
		statusWatchJSON(t, env, kubeconfig)
	})
}

// jsonDocuments decodes the JSON documents of a stream, as a script
// reading `status -w -o json` would.
func jsonDocuments(t *testing.T, stream string) []v1alpha1.IntentSync {
	t.Helper()
	var docs []v1alpha1.IntentSync
	dec := json.NewDecoder(strings.NewReader(stream))
	for dec.More() {
		var d v1alpha1.IntentSync
		if err := dec.Decode(&d); err != nil {
			return docs // a document still being written
		}
		docs = append(docs, d)
	}
	return docs
}

// statusWatchJSON checks that `status -w -o json` streams the list, then
// one JSON document per IntentSync whose status changed (in a namespace of
// its own on TestStatusCommand's control plane).
func statusWatchJSON(t *testing.T, env *testenv.Env, kubeconfig string) {
	ns := env.Namespace(t)
	src := v1alpha1.IntentSyncSpec{Source: v1alpha1.GitSource{URL: "https://git.example.com/mesh.git", Branch: "main"}}
	obj := createSync(t, env, ns, "mesh", src, v1alpha1.IntentSyncStatus{
		Conditions: readyCondition(metav1.ConditionFalse, v1alpha1.ReasonFetchFailed, "git server down"),
	})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"status", "-n", ns, "-w", "-o", "json", "--kubeconfig", kubeconfig}, &out, &errOut)
	}()
	testenv.Eventually(t, 30*time.Second, func() error {
		if docs := jsonDocuments(t, out.String()); len(docs) != 1 || docs[0].Kind != "List" {
			return fmt.Errorf("want the list first, got:\n%s", out.String())
		}
		return nil
	})
	cur := &v1alpha1.IntentSync{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions = readyCondition(metav1.ConditionTrue, v1alpha1.ReasonSynced, "applied revision "+statusRev)
	if err := env.Client.Status().Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		docs := jsonDocuments(t, out.String())
		if len(docs) != 2 || docs[1].Name != "mesh" || docs[1].Kind != v1alpha1.IntentSyncKind ||
			len(docs[1].Status.Conditions) == 0 || docs[1].Status.Conditions[0].Reason != v1alpha1.ReasonSynced {
			return fmt.Errorf("want the list, then mesh now Synced, got:\n%s", out.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d after interruption, want 0; stderr:\n%s", code, errOut.String())
	}
}

// TestStatusUsage checks the usage errors, which need no cluster.
func TestStatusUsage(t *testing.T) {
	kubeconfig := unreachableKubeconfig(t)
	refuseEach(t, []refusedArgs{
		{"an unknown output format", []string{"status", "-o", "xml"}, `--output "xml": use one of table, wide, json, yaml`},
		{"-A with a NAME", []string{"status", "-A", "mesh"}, "-A lists every namespace: drop NAME and --namespace"},
		{"-A with a namespace", []string{"status", "-A", "-n", "x"}, "-A lists every namespace"},
		{"two names", []string{"status", "a", "b"}, "accepts at most 1 arg"},
		{"a cluster that cannot be reached", []string{"status", "-n", "x", "--kubeconfig", kubeconfig}, "listing IntentSyncs"},
	})
}

func TestParseDriftEntry(t *testing.T) {
	tests := []struct {
		entry string
		want  driftEntry
	}{
		{driftedEntry, driftEntry{"VirtualService/bookinfo/reviews", ".spec.http[0].route[0].weight", "80", "50", "kubectl-edit"}},
		{"VirtualService/ns/r .spec.hosts: want [\"a\", \"b\"], have [\"a\"]", driftEntry{"VirtualService/ns/r", ".spec.hosts", `["a", "b"]`, `["a"]`, ""}},
		{"Namespace/bookinfo: missing (deleted from the cluster)", driftEntry{"Namespace/bookinfo", "-", "-", "missing (deleted from the cluster)", "-"}},
		{"something else", driftEntry{object: "something else"}},
	}
	for _, tt := range tests {
		if got := parseDriftEntry(tt.entry); got != tt.want {
			t.Errorf("parseDriftEntry(%q) = %+v, want %+v", tt.entry, got, tt.want)
		}
	}
}

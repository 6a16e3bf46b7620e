package controller

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
)

func TestShardLeaderElectionID(t *testing.T) {
	t.Parallel()
	shard1, err := ShardLeaderElectionID(ShardLabel + "=shard1")
	if err != nil {
		t.Fatal(err)
	}
	main, err := ShardLeaderElectionID("!" + ShardLabel)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		selector string
		want     string // "" with wantErr
		wantErr  string
	}{
		{"no selector is the one Lease of an unsharded controller", "", DefaultLeaderElectionID, ""},
		{"a selector of spaces is no selector", "  ", DefaultLeaderElectionID, ""},
		{"a shard's Lease is named after its selector", ShardLabel + "=shard1", shard1, ""},
		{"spaces around the operator do not make another Lease", ShardLabel + " = shard1", shard1, ""},
		{"the main shard's Lease is its own", "!" + ShardLabel, main, ""},
		{"requirements in another order share the Lease", "team=a,tier in (gold,silver)", mustLease(t, "tier in (silver,gold), team=a"), ""},
		{"a selector without a key is an error naming it", "=shard1", "", `watch label selector "=shard1"`},
		{"an unclosed set is an error naming it", "tier in (gold", "", `watch label selector "tier in (gold"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ShardLeaderElectionID(tc.selector)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ShardLeaderElectionID(%q) = %q, %v; want an error containing %q", tc.selector, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ShardLeaderElectionID(%q): %v", tc.selector, err)
			}
			if got != tc.want {
				t.Errorf("ShardLeaderElectionID(%q) = %q, want %q", tc.selector, got, tc.want)
			}
		})
	}
	t.Run("two shards never share a Lease, and both names are valid Lease names", func(t *testing.T) {
		if shard1 == main {
			t.Errorf("shard1 and the main shard both elect on %q", shard1)
		}
		for _, n := range []string{shard1, main} {
			if !strings.HasPrefix(n, DefaultLeaderElectionID+"-") || len(n) != len(DefaultLeaderElectionID)+11 {
				t.Errorf("Lease name %q, want %s-<10 hex digits>", n, DefaultLeaderElectionID)
			}
		}
	})
	t.Run("NewManager refuses a bad selector", func(t *testing.T) {
		_, err := NewManager(Options{Config: env.Config, CacheDir: t.TempDir(), WatchLabelSelector: "a in (b", skipNameValidation: true})
		if err == nil || !strings.Contains(err.Error(), `watch label selector "a in (b"`) {
			t.Errorf("NewManager: %v, want an error naming the selector", err)
		}
	})
}

func mustLease(t *testing.T, selector string) string {
	t.Helper()
	id, err := ShardLeaderElectionID(selector)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newShardSync creates IntentSync ns/name following dir of repo's main
// branch (hourly polls: only webhooks and drift wake it), labelled for
// shard (none when empty).
func newShardSync(t *testing.T, ns, name, url, dir, shard string) *v1alpha1.IntentSync {
	t.Helper()
	return createIntentSync(t, ns, name, url, func(obj *v1alpha1.IntentSync) {
		obj.Spec.Source.Path = dir
		if shard != "" {
			obj.Labels = map[string]string{ShardLabel: shard}
		}
	})
}

// TestShardsSplitIntentSyncs runs two managers as two shards of one
// controller, the main one ('!sharding.meshintent.io/key') and shard1,
// each with leader election and a webhook receiver, over two IntentSyncs
// of one repository, and checks that each IntentSync is reconciled,
// drift-checked and triggered by its own shard only.
func TestShardsSplitIntentSyncs(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	selectors := map[string]string{"main": "!" + ShardLabel, "shard1": ShardLabel + "=shard1"}
	shard := func(name string) func(*Options) {
		return func(o *Options) {
			electing(ns)(o)
			o.WatchLabelSelector = selectors[name]
			o.WebhookAddr = "127.0.0.1:0"
			o.WebhookSecret = webhookSecret
		}
	}
	mainShard, shard1 := startManager(t, ns, shard("main")), startManager(t, ns, shard("shard1"))

	// One repository, a directory per IntentSync.
	repo := gitfixture.New(t)
	writeDirs := func(w int) string {
		for dir, svc := range map[string]string{"platform": "reviews", "team": "ratings"} {
			repo.Write(dir+"/kustomization.yaml", "resources:\n- "+svc+".yaml\n")
			repo.Write(dir+"/"+svc+".yaml", serviceIntent(ns, svc, w, 100-w))
		}
		return repo.Commit(fmt.Sprintf("weights %d", w))
	}
	first := writeDirs(80)
	srv := gitfixture.Serve(t, repo.Dir)
	platform := newShardSync(t, ns, "platform", srv.URL, "platform", "")
	team := newShardSync(t, ns, "team", srv.URL, "team", "shard1")
	waitReady(t, platform, "main@sha1:"+first, 30*time.Second)
	waitReady(t, team, "main@sha1:"+first, 30*time.Second)

	t.Run("each shard leads on a Lease of its own", func(t *testing.T) {
		for name, m := range map[string]*testManager{"main": mainShard, "shard1": shard1} {
			select {
			case <-m.Elected():
			case <-time.After(20 * time.Second):
				t.Fatalf("shard %s was not elected", name)
			}
		}
		var leases coordinationv1.LeaseList
		if err := env.Client.List(t.Context(), &leases, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		holders := map[string]string{}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil {
				holders[l.Name] = *l.Spec.HolderIdentity
			}
		}
		want := []string{mustLease(t, selectors["main"]), mustLease(t, selectors["shard1"])}
		slices.Sort(want)
		got := slices.Sorted(maps.Keys(holders))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("held Leases (-want +got):\n%s", diff)
		}
		if mainShard.LeaderElectionID != want[0] && mainShard.LeaderElectionID != want[1] {
			t.Errorf("Manager.LeaderElectionID = %q, want one of %v", mainShard.LeaderElectionID, want)
		}
	})

	// noneByOther checks that neither shard reconciled the other's
	// IntentSync, in the sync or the drift controller.
	noneByOther := func(t *testing.T) {
		t.Helper()
		for _, c := range []struct {
			who string
			m   *testManager
			obj *v1alpha1.IntentSync
		}{{"the main shard", mainShard, team}, {"shard1", shard1, platform}} {
			if n, d := c.m.syncCount(c.obj), c.m.driftCount(c.obj); n != 0 || d != 0 {
				t.Errorf("%s reconciled IntentSync %s (%d syncs, %d drift checks), want never", c.who, c.obj.Name, n, d)
			}
		}
	}

	t.Run("each IntentSync is reconciled by its own shard only", func(t *testing.T) {
		if mainShard.syncCount(platform) == 0 || shard1.syncCount(team) == 0 {
			t.Errorf("syncs: main shard reconciled platform %d times, shard1 team %d times; want both > 0",
				mainShard.syncCount(platform), shard1.syncCount(team))
		}
		noneByOther(t)
	})

	t.Run("a push sent to a shard triggers only that shard's IntentSyncs", func(t *testing.T) {
		next := writeDirs(60)
		code, body := postPush(t, mainShard.WebhookAddr(), webhookSecret, srv.URL, "main", next)
		if code != http.StatusAccepted || body != "triggered 1 IntentSync\n" {
			t.Fatalf("main shard's webhook answered %d %q, want 202 triggering 1 IntentSync", code, body)
		}
		waitReady(t, platform, "main@sha1:"+next, 10*time.Second)
		time.Sleep(2 * time.Second)
		if got := getSync(t, team).Status.LastAppliedRevision; got != "main@sha1:"+first {
			t.Errorf("team (shard1) applied %s after a push to the main shard, want still %s", got, first)
		}
		code, body = postPush(t, shard1.WebhookAddr(), webhookSecret, srv.URL, "main", next)
		if code != http.StatusAccepted || body != "triggered 1 IntentSync\n" {
			t.Fatalf("shard1's webhook answered %d %q, want 202 triggering 1 IntentSync", code, body)
		}
		waitReady(t, team, "main@sha1:"+next, 10*time.Second)
		noneByOther(t)
	})

	t.Run("an edit of a shard's object wakes only that shard", func(t *testing.T) {
		before := shard1.driftCount(team)
		kubectlEdit(t, ns, "ratings", 10, 90)
		shard1.waitDriftChecks(t, team, before, 10*time.Second)
		time.Sleep(time.Second)
		noneByOther(t)
	})

	t.Run("an object held by another shard's IntentSync is not taken over", func(t *testing.T) {
		// shard1 has never reconciled platform, nor has it in its cache:
		// only the API server can say platform still holds reviews.
		thief := newShardSync(t, ns, "thief", srv.URL, "platform", "shard1")
		got := waitReason(t, thief, v1alpha1.ReasonDryRunFailed, 30*time.Second)
		msg := condition(got, v1alpha1.ConditionReady).Message
		if want := "applied by IntentSync " + ns + "/platform"; !strings.Contains(msg, want) {
			t.Errorf("thief's Ready message %q does not say %q", msg, want)
		}
		if owner, _ := ownerOf(t, ns, "reviews"); owner != "platform" {
			t.Errorf("reviews is labelled as applied by %q, want platform", owner)
		}
		if n := mainShard.syncCount(thief); n != 0 {
			t.Errorf("the main shard reconciled thief %d times, want never", n)
		}
	})

	t.Run("an IntentSync whose label is removed moves to the main shard, and shard1 lets it go", func(t *testing.T) {
		if err := env.Client.Delete(t.Context(), &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "thief"}}); err != nil {
			t.Fatal(err)
		}
		patchSync(t, team, func(obj *v1alpha1.IntentSync) { delete(obj.Labels, ShardLabel) })
		mainShard.waitSyncs(t, team, 0, 10*time.Second)
		// An edit of team's object now wakes the main shard only.
		mainBefore, shard1Before := mainShard.driftCount(team), shard1.driftCount(team)
		kubectlEdit(t, ns, "ratings", 20, 80)
		mainShard.waitDriftChecks(t, team, mainBefore, 10*time.Second)
		time.Sleep(time.Second)
		if n := shard1.driftCount(team) - shard1Before; n != 0 {
			t.Errorf("shard1 checked team's drift %d times after the label was removed, want 0", n)
		}
	})
}

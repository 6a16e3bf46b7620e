package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/apply"
)

// everySecond polls each second.
func everySecond(s *v1alpha1.IntentSyncSpec) { s.Interval.Duration = time.Second }

// contendedRepos makes the repositories of two IntentSyncs that both hold
// reviews: the platform's, applied first by IntentSync "mesh" (with mod),
// and the team's, whose IntentSync "team" is returned with its repository.
func contendedRepos(t *testing.T, ns string, mod func(*v1alpha1.IntentSyncSpec)) (platform *intentRepo, mesh *v1alpha1.IntentSync, team *intentRepo, other *v1alpha1.IntentSync) {
	t.Helper()
	platform = newIntentRepo(t, map[string]string{
		"reviews.yaml": serviceIntent(ns, "reviews", 80, 20),
		"ratings.yaml": serviceIntent(ns, "ratings", 100, 0),
	})
	mesh = newIntentSync(t, ns, platform, mod)
	waitReady(t, mesh, "main@sha1:"+platform.head, 30*time.Second)
	team = newIntentRepo(t, map[string]string{
		"reviews.yaml": serviceIntent(ns, "reviews", 50, 50),
		"details.yaml": serviceIntent(ns, "details", 90, 10),
	})
	other = newNamedIntentSync(t, ns, "team", team, everySecond)
	return platform, mesh, team, other
}

// ownerOf returns the IntentSync the live VirtualService name is labelled
// as applied by, and its weights.
func ownerOf(t *testing.T, ns, name string) (string, []int64) {
	t.Helper()
	vs := mustGet(t, vsGVK, ns, name)
	return vs.GetLabels()[SyncNameLabel], weights(vs)
}

// TestObjectsBelongToOneIntentSync checks that a revision holding an object
// that another IntentSync applied and still holds fails whole, naming the
// object, its file and the other IntentSync, with nothing of it applied;
// and that an IntentSync that is gone holds nothing, so its objects are
// taken over.
func TestObjectsBelongToOneIntentSync(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	m := startManager(t, ns, nil)
	_, mesh, team, other := contendedRepos(t, ns, everySecond) // mesh does not prune

	got := waitReason(t, other, v1alpha1.ReasonDryRunFailed, 30*time.Second)
	msg := condition(got, v1alpha1.ConditionReady).Message
	for _, kind := range []string{"DestinationRule", "VirtualService"} {
		want := kind + "/" + ns + "/reviews (reviews.yaml): not applied: applied by IntentSync " + ns + "/mesh"
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "details") {
		t.Errorf("Ready message %q names details, which nobody else holds", msg)
	}
	// Nothing of the revision was applied, and it stays so over polls.
	time.Sleep(3 * time.Second)
	env.CheckAbsent(t, vsGVK, ns, "details")
	if owner, w := ownerOf(t, ns, "reviews"); owner != "mesh" || !cmp.Equal(w, []int64{80, 20}) {
		t.Errorf("reviews is applied by %q with weights %v, want mesh's 80/20", owner, w)
	}
	if r := condition(getSync(t, mesh), v1alpha1.ConditionReady).Reason; r != v1alpha1.ReasonSynced {
		t.Errorf("IntentSync mesh is %s, want still %s", r, v1alpha1.ReasonSynced)
	}

	// A process that has not reconciled mesh yet (one just started) goes
	// by mesh's inventory.
	fresh := &IntentSyncReconciler{
		Client: env.Client, Apply: apply.NewManager(env.Client, m.Reconciler.Apply.Options()),
		states: newStateStore(), watched: m.Kinds,
	}
	applied := m.Reconciler.states.lookup(client.ObjectKeyFromObject(mesh)).current.Load()
	third := &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "third"}}
	claimed, err := fresh.claimedElsewhere(t.Context(), third, applied)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range claimed {
		if oe := (*OwnedElsewhereError)(nil); !errors.As(f, &oe) || oe.Owner != client.ObjectKeyFromObject(mesh) {
			t.Errorf("%s: %v, want owned by mesh", f.ID, f.Err)
		}
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff(applied.ids(), ids, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("objects claimed by mesh's inventory (-want +got):\n%s", diff)
	}

	// mesh is deleted without pruning: its objects stay, held by nobody,
	// and team's next poll takes reviews over.
	if err := env.Client.Delete(t.Context(), mesh.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, other, "main@sha1:"+team.head, 30*time.Second)
	if owner, w := ownerOf(t, ns, "reviews"); owner != "team" || !cmp.Equal(w, []int64{50, 50}) {
		t.Errorf("reviews is applied by %q with weights %v, want team's 50/50", owner, w)
	}
}

// TestObjectsAreHandedOver checks that once the IntentSync holding an
// object drops it from its revision (and prunes it), the next poll of
// another IntentSync whose revision holds it takes it over.
func TestObjectsAreHandedOver(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	startManager(t, ns, nil)
	platform, mesh, team, other := contendedRepos(t, ns, func(s *v1alpha1.IntentSyncSpec) {
		everySecond(s)
		s.Prune = true
	})
	waitReason(t, other, v1alpha1.ReasonDryRunFailed, 30*time.Second)

	platform.Remove("reviews.yaml")
	platform.commit(nil)
	waitReady(t, mesh, "main@sha1:"+platform.head, 30*time.Second)
	waitReady(t, other, "main@sha1:"+team.head, 30*time.Second)
	if owner, w := ownerOf(t, ns, "reviews"); owner != "team" || !cmp.Equal(w, []int64{50, 50}) {
		t.Errorf("reviews is applied by %q with weights %v, want team's 50/50", owner, w)
	}
	mustGet(t, vsGVK, ns, "details")
}

package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// lastFullCheck is when the last full drift check (or apply) of obj began
// to be recorded by m's reconciler; zero when there is none.
func lastFullCheck(t *testing.T, m *testManager, obj *v1alpha1.IntentSync) time.Time {
	t.Helper()
	st := m.Reconciler.states.lookup(client.ObjectKeyFromObject(obj))
	if st == nil {
		return time.Time{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.checked.at
}

// TestNoOpSyncTrustsTheWatch polls an applied revision every second: while
// the watch sees no change, a poll skips the full drift check and only
// moves status.drift.checkedAt; an edit of a managed object makes the next
// poll check in full; an unmanaged object, which the watch does not see, is
// still found by the full check that comes after fullCheckPolls polls.
func TestNoOpSyncTrustsTheWatch(t *testing.T) {
	t.Parallel()
	ns, _, m, obj, _ := pollingReviews(t)

	// checkedAt has a one-second resolution.
	checkedAt := func() time.Time {
		if d := getSync(t, obj).Status.Drift; d != nil {
			return d.CheckedAt.Time
		}
		return time.Time{}
	}
	// quietPolls waits for n polls and returns the last full check's time,
	// failing when one of them checked in full.
	quietPolls := func(t *testing.T, n int64) time.Time {
		t.Helper()
		var full time.Time
		eventually(t, 10*time.Second, func() error {
			full = lastFullCheck(t, m, obj)
			if full.IsZero() {
				return errors.New("no full check yet")
			}
			return nil
		})
		polls, seen := m.syncCount(obj), checkedAt()
		eventually(t, 10*time.Second, func() error {
			if p := m.syncCount(obj) - polls; p < n {
				return fmt.Errorf("%d polls, want %d", p, n)
			}
			return nil
		})
		if got := lastFullCheck(t, m, obj); !got.Equal(full) {
			t.Errorf("a poll checked in full at %s though nothing changed (last full check %s)", got, full)
		}
		if got := checkedAt(); !got.After(seen) {
			t.Errorf("status.drift.checkedAt %s did not move after %d polls (was %s)", got, n, seen)
		}
		return full
	}

	t.Run("polls with nothing changed skip the full check and still say when they looked", func(t *testing.T) {
		quietPolls(t, 2)
	})

	t.Run("an edit of a managed object is reported, and the next poll checks in full", func(t *testing.T) {
		full := lastFullCheck(t, m, obj)
		kubectlEdit(t, ns, "reviews", 10, 90)
		waitReason(t, obj, v1alpha1.ReasonDriftDetected, 10*time.Second)
		eventually(t, 10*time.Second, func() error {
			if got := lastFullCheck(t, m, obj); !got.After(full) {
				return fmt.Errorf("no full check since %s", full)
			}
			return nil
		})
		quietPolls(t, 2) // the drift is known; quiet again
		if got := getSync(t, obj); readyReason(got) != v1alpha1.ReasonDriftDetected || got.Status.Drift == nil || got.Status.Drift.Drifted != 2 {
			t.Errorf("after quiet polls Ready %s, drift %+v; want the 2 drifted fields still reported", readyReason(got), got.Status.Drift)
		}
	})

	t.Run("an unmanaged object is found by the periodic full check", func(t *testing.T) {
		createKialiVirtualService(t, ns)
		eventually(t, (fullCheckPolls+5)*time.Second, func() error {
			if d := getSync(t, obj).Status.Drift; d == nil || d.Unmanaged != 1 {
				return fmt.Errorf("status.drift = %+v, want 1 unmanaged", d)
			}
			return nil
		})
	})
}

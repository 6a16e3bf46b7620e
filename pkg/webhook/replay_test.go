package webhook

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReplayCache(t *testing.T) {
	t0 := testNow
	type add struct {
		key     string
		at      time.Duration // since t0
		expires time.Duration // since t0
	}
	tests := []struct {
		name    string
		max     int
		adds    []add
		want    []bool
		wantLen int
	}{
		{
			name:    "a key is new once and then a replay until it expires",
			max:     10,
			adds:    []add{{"a", 0, time.Minute}, {"a", time.Minute, 2 * time.Minute}, {"a", time.Minute + 1, 3 * time.Minute}},
			want:    []bool{true, false, true},
			wantLen: 1,
		},
		{
			name:    "a full cache evicts the key closest to expiry",
			max:     2,
			adds:    []add{{"a", 0, time.Minute}, {"b", 0, 2 * time.Minute}, {"c", 0, 3 * time.Minute}, {"b", 0, 4 * time.Minute}, {"a", 0, 5 * time.Minute}},
			want:    []bool{true, true, true, false, true},
			wantLen: 2,
		},
		{
			name:    "expired keys are dropped before anything is evicted",
			max:     2,
			adds:    []add{{"a", 0, time.Minute}, {"b", 0, 5 * time.Minute}, {"c", 2 * time.Minute, 6 * time.Minute}, {"b", 2 * time.Minute, 7 * time.Minute}},
			want:    []bool{true, true, true, false},
			wantLen: 2,
		},
		{
			name:    "keys kept for different times expire in expiry order",
			max:     10,
			adds:    []add{{"late", 0, 10 * time.Minute}, {"early", 0, time.Minute}, {"late", 5 * time.Minute, 0}, {"early", 5 * time.Minute, 6 * time.Minute}},
			want:    []bool{true, true, false, true},
			wantLen: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newReplayCache(tt.max)
			var got []bool
			for _, a := range tt.adds {
				got = append(got, c.add(a.key, t0.Add(a.at), t0.Add(a.expires)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("new keys mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLen, c.len()); diff != "" {
				t.Errorf("length mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplayCacheStaysBounded(t *testing.T) {
	c := newReplayCache(maxDeliveries)
	for i := range maxDeliveries + 500 {
		if !c.add(strconv.Itoa(i), testNow, testNow.Add(time.Duration(i))) {
			t.Fatalf("key %d reported as a replay", i)
		}
	}
	got := [2]any{c.len(), len(c.queue)}
	want := [2]any{maxDeliveries, maxDeliveries}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("size mismatch (-want +got):\n%s", diff)
	}
	// The oldest were evicted, the newest kept.
	if diff := cmp.Diff([2]bool{true, false}, [2]bool{c.add("0", testNow, testNow), c.add(strconv.Itoa(maxDeliveries+499), testNow, testNow)}); diff != "" {
		t.Errorf("eviction mismatch (-want +got):\n%s", diff)
	}
}

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
		keys    []string
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
			adds:    []add{{[]string{"a"}, 0, time.Minute}, {[]string{"a"}, time.Minute, 2 * time.Minute}, {[]string{"a"}, time.Minute + 1, 3 * time.Minute}},
			want:    []bool{true, false, true},
			wantLen: 1,
		},
		{
			name:    "a full cache evicts the key closest to expiry",
			max:     2,
			adds:    []add{{[]string{"a"}, 0, time.Minute}, {[]string{"b"}, 0, 2 * time.Minute}, {[]string{"c"}, 0, 3 * time.Minute}, {[]string{"b"}, 0, 4 * time.Minute}, {[]string{"a"}, 0, 5 * time.Minute}},
			want:    []bool{true, true, true, false, true},
			wantLen: 2,
		},
		{
			name:    "expired keys are dropped before anything is evicted",
			max:     2,
			adds:    []add{{[]string{"a"}, 0, time.Minute}, {[]string{"b"}, 0, 5 * time.Minute}, {[]string{"c"}, 2 * time.Minute, 6 * time.Minute}, {[]string{"b"}, 2 * time.Minute, 7 * time.Minute}},
			want:    []bool{true, true, true, false},
			wantLen: 2,
		},
		{
			name:    "keys kept for different times expire in expiry order",
			max:     10,
			adds:    []add{{[]string{"late"}, 0, 10 * time.Minute}, {[]string{"early"}, 0, time.Minute}, {[]string{"late"}, 5 * time.Minute, 0}, {[]string{"early"}, 5 * time.Minute, 6 * time.Minute}},
			want:    []bool{true, true, false, true},
			wantLen: 2,
		},
		{
			name:    "a delivery sharing any one key with a held delivery is a replay",
			max:     10,
			adds:    []add{{[]string{"body1", "id1"}, 0, time.Minute}, {[]string{"body1", "id2"}, 0, time.Minute}, {[]string{"body2", "id1"}, 0, time.Minute}, {[]string{"body2", "id2"}, 0, time.Minute}},
			want:    []bool{true, false, false, true},
			wantLen: 4,
		},
		{
			name:    "a replay records none of its keys",
			max:     10,
			adds:    []add{{[]string{"body1"}, 0, time.Minute}, {[]string{"body1", "id9"}, 0, time.Hour}, {[]string{"body2", "id9"}, 0, time.Minute}},
			want:    []bool{true, false, true},
			wantLen: 3,
		},
		{
			name:    "a key listed twice in one delivery is held once",
			max:     10,
			adds:    []add{{[]string{"k", "k"}, 0, time.Minute}},
			want:    []bool{true},
			wantLen: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newReplayCache(tt.max)
			var got []bool
			for _, a := range tt.adds {
				got = append(got, c.add(t0.Add(a.at), t0.Add(a.expires), a.keys...))
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
		if !c.add(testNow, testNow.Add(time.Duration(i)), strconv.Itoa(i)) {
			t.Fatalf("key %d reported as a replay", i)
		}
	}
	got := [2]any{c.len(), len(c.queue)}
	want := [2]any{maxDeliveries, maxDeliveries}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("size mismatch (-want +got):\n%s", diff)
	}
	// The oldest were evicted, the newest kept.
	if diff := cmp.Diff([2]bool{true, false}, [2]bool{c.add(testNow, testNow, "0"), c.add(testNow, testNow, strconv.Itoa(maxDeliveries+499))}); diff != "" {
		t.Errorf("eviction mismatch (-want +got):\n%s", diff)
	}
}

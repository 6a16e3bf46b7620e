package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseSchedule(t *testing.T) {
	berlin, tokyo, newYork := mustZone(t, "Europe/Berlin"), mustZone(t, "Asia/Tokyo"), mustZone(t, "America/New_York")
	tests := []struct {
		name               string
		schedule, timeZone string
		now                time.Time
		// wantNext are the next two runs.
		wantNext [2]time.Time
		wantZone string
	}{{
		name:     "five fields run in the given time zone",
		schedule: "0 7 * * 1-5", timeZone: "Europe/Berlin",
		now:      time.Date(2026, 3, 2, 5, 30, 0, 0, time.UTC), // Monday 06:30 in Berlin
		wantNext: [2]time.Time{time.Date(2026, 3, 2, 7, 0, 0, 0, berlin), time.Date(2026, 3, 3, 7, 0, 0, 0, berlin)},
		wantZone: "Europe/Berlin",
	}, {
		name:     "weekdays skip the weekend",
		schedule: "0 7 * * 1-5", timeZone: "Europe/Berlin",
		now:      time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), // Friday afternoon
		wantNext: [2]time.Time{time.Date(2026, 3, 9, 7, 0, 0, 0, berlin), time.Date(2026, 3, 10, 7, 0, 0, 0, berlin)},
		wantZone: "Europe/Berlin",
	}, {
		name:     "the wall-clock time holds across a daylight saving change",
		schedule: "0 7 * * *", timeZone: "Europe/Berlin",
		now:      time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), // DST starts on the 29th
		wantNext: [2]time.Time{time.Date(2026, 3, 29, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 5, 0, 0, 0, time.UTC)},
		wantZone: "Europe/Berlin",
	}, {
		name:     "no time zone means UTC",
		schedule: "30 6 * * *",
		now:      time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 3, 6, 30, 0, 0, time.UTC), time.Date(2026, 3, 4, 6, 30, 0, 0, time.UTC)},
		wantZone: "UTC",
	}, {
		name:     "@hourly is on the hour",
		schedule: "@hourly",
		now:      time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)},
		wantZone: "UTC",
	}, {
		name:     "@daily follows the time zone",
		schedule: "@daily", timeZone: "Asia/Tokyo",
		now:      time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 3, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 4, 0, 0, 0, 0, tokyo)},
		wantZone: "Asia/Tokyo",
	}, {
		name:     "@every counts from now",
		schedule: "@every 90m",
		now:      time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)},
		wantZone: "UTC",
	}, {
		name:     "a CRON_TZ prefix sets the time zone",
		schedule: "CRON_TZ=America/New_York 30 9 * * *",
		now:      time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 2, 9, 30, 0, 0, newYork), time.Date(2026, 3, 3, 9, 30, 0, 0, newYork)},
		wantZone: "America/New_York",
	}, {
		name:     "a TZ prefix equal to timeZone is accepted",
		schedule: "TZ=Asia/Tokyo @daily", timeZone: "Asia/Tokyo",
		now:      time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		wantNext: [2]time.Time{time.Date(2026, 3, 3, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 4, 0, 0, 0, 0, tokyo)},
		wantZone: "Asia/Tokyo",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSchedule(tt.schedule, tt.timeZone, tt.now)
			if err != nil {
				t.Fatalf("parseSchedule: %v", err)
			}
			first := s.Next(tt.now)
			got := [2]string{first.UTC().Format(time.RFC3339), s.Next(first).UTC().Format(time.RFC3339)}
			want := [2]string{tt.wantNext[0].UTC().Format(time.RFC3339), tt.wantNext[1].UTC().Format(time.RFC3339)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("next two runs (-want +got):\n%s", diff)
			}
			if s.location.String() != tt.wantZone {
				t.Errorf("time zone = %s, want %s", s.location, tt.wantZone)
			}
		})
	}
}

func TestParseScheduleRejects(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name               string
		schedule, timeZone string
		// want must all appear in the error.
		want []string
	}{
		{"words are not a schedule", "every morning", "", []string{`spec.driftReport.schedule "every morning" is invalid`, "expected 5 fields", "@hourly"}},
		{"six fields (seconds) are refused", "*/5 * * * * *", "", []string{"is invalid", "expected exactly 5 fields"}},
		{"a minute out of range is refused", "61 * * * *", "", []string{`"61 * * * *" is invalid`, "above maximum"}},
		{"an empty schedule is refused", "  ", "", []string{"spec.driftReport.schedule is empty"}},
		{"an unknown descriptor is refused", "@fortnightly", "", []string{"unrecognized descriptor"}},
		{"@every without a duration is refused", "@every banana", "", []string{`"@every banana" is invalid`}},
		{"@every below a second is refused", "@every 500ms", "", []string{"at least 1s"}},
		{"a schedule that never fires is refused", "0 0 30 2 *", "", []string{`"0 0 30 2 *" never fires`}},
		{"an unknown time zone is refused", "@hourly", "Mars/Olympus", []string{`spec.driftReport.timeZone "Mars/Olympus" is not a known IANA time zone`}},
		{"the host's local time zone is refused", "@hourly", "Local", []string{`"Local" depends on the controller's host`}},
		{"an unknown time zone in a prefix is refused", "CRON_TZ=Nowhere/Land 0 7 * * *", "", []string{`"Nowhere/Land" is not a known IANA time zone`}},
		{"two different time zones are refused", "CRON_TZ=Europe/Berlin 0 7 * * *", "UTC", []string{`names time zone "Europe/Berlin" and spec.driftReport.timeZone "UTC"`}},
		{"a prefix without a schedule is refused", "CRON_TZ=Europe/Berlin", "", []string{"has a time zone but no schedule"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSchedule(tt.schedule, tt.timeZone, now)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestMissedRuns(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	berlin := mustZone(t, "Europe/Berlin")
	parse := func(schedule, tz string) reportSchedule {
		s, err := parseSchedule(schedule, tz, at(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name      string
		sched     reportSchedule
		last, now time.Time
		want      int
		wantFirst time.Time
	}{
		{"nothing is missed before the next run is due", parse("@hourly", ""), at(10, 0), at(10, 59), 0, time.Time{}},
		{"a run due exactly now counts", parse("@hourly", ""), at(10, 0), at(11, 0), 1, at(11, 0)},
		{"every run due since the last one counts", parse("@hourly", ""), at(10, 0), at(13, 5), 3, at(11, 0)},
		{"@every counts from the last run", parse("@every 10m", ""), at(10, 0), at(11, 0), 6, at(10, 10)},
		{"a weekday schedule misses nothing over the weekend",
			parse("0 7 * * 1-5", "Europe/Berlin"), time.Date(2026, 3, 6, 7, 0, 0, 0, berlin), time.Date(2026, 3, 9, 6, 59, 0, 0, berlin), 0, time.Time{}},
		{"a weekday schedule misses Monday's run",
			parse("0 7 * * 1-5", "Europe/Berlin"), time.Date(2026, 3, 6, 7, 0, 0, 0, berlin), time.Date(2026, 3, 9, 8, 0, 0, 0, berlin), 1, time.Date(2026, 3, 9, 7, 0, 0, 0, berlin)},
		{"a last run in the future (clock skew) misses nothing", parse("@hourly", ""), at(12, 0), at(10, 0), 0, time.Time{}},
		{"a long outage with a short schedule is capped", parse("@every 1s", ""), at(0, 0), at(0, 0).Add(7 * 24 * time.Hour), maxCountedMisses, at(0, 0).Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, first := missedRuns(tt.sched, tt.last, tt.now)
			if n != tt.want || !first.Equal(tt.wantFirst) {
				t.Errorf("missedRuns = %d, first %s; want %d, first %s", n, first, tt.want, tt.wantFirst)
			}
		})
	}
}

package controller

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// The controller image may have no zoneinfo; spec.driftReport.timeZone
	// must resolve the same everywhere.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// scheduleParser reads spec.driftReport.schedule: the standard five cron
// fields (minute hour day-of-month month day-of-week) and the descriptors
// @yearly, @monthly, @weekly, @daily, @hourly and @every <duration>.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// maxCountedMisses caps how many missed runs one look back counts, so that
// a long outage with a short schedule stays cheap to account for.
const maxCountedMisses = 10000

// reportSchedule is a parsed spec.driftReport.
type reportSchedule struct {
	cron.Schedule
	// location is the time zone the schedule is read in.
	location *time.Location
}

// describe says when reports run, for the DriftReportScheduled condition.
func (s reportSchedule) describe(spec string) string {
	return fmt.Sprintf("drift reports run on schedule %q in time zone %s", spec, s.location)
}

// parseSchedule parses a schedule and an IANA time zone (empty means UTC)
// as of now. A "CRON_TZ=<zone> " (or "TZ=") prefix of the schedule is
// accepted instead of timeZone, not together with a different one.
// Errors name the offending field and say what is expected; they never
// panic, whatever the input. A schedule that never fires (such as
// February 30th) and @every shorter than a second are errors too.
func parseSchedule(schedule, timeZone string, now time.Time) (sched reportSchedule, err error) {
	defer func() {
		// The cron parser panics on some malformed input; the controller must not.
		if p := recover(); p != nil {
			err = fmt.Errorf("spec.driftReport.schedule %q is invalid", schedule)
		}
	}()
	spec := strings.TrimSpace(schedule)
	if spec == "" {
		return reportSchedule{}, errors.New("spec.driftReport.schedule is empty")
	}

	// Find the time zone: timeZone, or the schedule's own prefix.
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		prefix, rest, _ := strings.Cut(spec, " ")
		_, zone, _ := strings.Cut(prefix, "=")
		if timeZone != "" && timeZone != zone {
			return reportSchedule{}, fmt.Errorf("spec.driftReport.schedule names time zone %q and spec.driftReport.timeZone %q: give it once", zone, timeZone)
		}
		timeZone, spec = zone, strings.TrimSpace(rest)
		if spec == "" {
			return reportSchedule{}, fmt.Errorf("spec.driftReport.schedule %q has a time zone but no schedule", schedule)
		}
	}
	loc, err := loadLocation(timeZone)
	if err != nil {
		return reportSchedule{}, err
	}

	// Parse the schedule.
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		if dur, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && dur < time.Second {
			return reportSchedule{}, fmt.Errorf("spec.driftReport.schedule %q is invalid: @every needs a duration of at least 1s", schedule)
		}
	}
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return reportSchedule{}, fmt.Errorf("spec.driftReport.schedule %q is invalid: %w; expected 5 fields (minute hour day-of-month month day-of-week, e.g. \"0 7 * * 1-5\") or a descriptor such as @hourly or @every 6h", schedule, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	sched = reportSchedule{Schedule: s, location: loc}
	if sched.Next(now).IsZero() {
		return reportSchedule{}, fmt.Errorf("spec.driftReport.schedule %q never fires", schedule)
	}
	return sched, nil
}

// loadLocation resolves an IANA time zone name; empty means UTC. "Local"
// is refused: it would depend on the controller's host.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`spec.driftReport.timeZone "Local" depends on the controller's host; use an IANA name such as "Europe/Berlin"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("spec.driftReport.timeZone %q is not a known IANA time zone (such as \"Europe/Berlin\" or \"UTC\")", name)
	}
	return loc, nil
}

// missedRuns counts the activations of sched after last and up to now:
// runs that were due while no controller was running them. It returns
// their number (at most maxCountedMisses) and the first one's time; zero
// when none was due.
func missedRuns(sched cron.Schedule, last, now time.Time) (int, time.Time) {
	var first time.Time
	n := 0
	for t := sched.Next(last); !t.IsZero() && !t.After(now) && n < maxCountedMisses; t = sched.Next(t) {
		if n == 0 {
			first = t
		}
		n++
	}
	return n, first
}

package collector

import (
	"strings"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
)

// The DOCSIS event-log families. Labels are the priority name and the
// decimal DOCSIS event ID only: the event text carries MAC addresses and is
// unbounded, so it never becomes a label.
var (
	eventEntries = NewGauge("hitron_event_log_entries",
		"Entries in the modem's DOCSIS event log now, by DOCSIS priority.", "priority")
	eventsTotal = NewCounter("hitron_event_log_events_total",
		"DOCSIS events first seen since the exporter began watching the modem, each counted once across probes "+
			"(the log found at the first probe is the baseline: not counted, its kinds start at 0), by priority and DOCSIS event ID; "+
			"kinds beyond 64 per modem are counted as event_id=\"other\".", "priority", "event_id")
	eventLast = NewGauge("hitron_event_log_last_event_timestamp_seconds",
		"Time of the newest event of each priority seen in the modem's log, as a Unix timestamp read in the target's configured time zone (UTC by default).",
		"priority")
	t3Timeouts = NewCounter("hitron_docsis_t3_timeouts_total",
		"DOCSIS ranging T3 timeouts (event IDs "+strings.Join(eventlog.TimeoutIDs(eventlog.T3), ", ")+") among the new events in the modem's log.")
	t4Timeouts = NewCounter("hitron_docsis_t4_timeouts_total",
		"DOCSIS ranging T4 timeouts (event IDs "+strings.Join(eventlog.TimeoutIDs(eventlog.T4), ", ")+") among the new events in the modem's log.")
)

// EventLogFamilies are the names of the event-log families, for docs and
// deployment checks.
var EventLogFamilies = []string{
	eventEntries.Name(), eventsTotal.Name(), eventLast.Name(), t3Timeouts.Name(), t4Timeouts.Name(),
}

// AddEventLog adds a modem's event-log metrics to s: nothing before the
// memory has observed a log (the page failed or the dialect has none), then
// the entries gauge for all eight priorities (and "unknown" when the log
// holds rows of no known priority), the counters, and the last-event
// timestamps the log's times give.
func AddEventLog(s *Set, snap eventlog.Snapshot) {
	if !snap.Observed {
		return
	}
	for _, p := range eventlog.Priorities() {
		s.Add(eventEntries, float64(snap.Entries[p]), p.String())
	}
	if n := snap.Entries[eventlog.PriorityUnknown]; n > 0 {
		s.Add(eventEntries, float64(n), eventlog.PriorityUnknown.String())
	}
	for _, c := range snap.Events {
		s.Add(eventsTotal, float64(c.N), c.Priority.String(), c.EventID)
	}
	for p, t := range snap.LastEvent {
		if !t.IsZero() {
			s.Add(eventLast, float64(t.Unix()), eventlog.Priority(p).String())
		}
	}
	s.Add(t3Timeouts, float64(snap.T3))
	s.Add(t4Timeouts, float64(snap.T4))
}

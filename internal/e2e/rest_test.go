package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// restExporter starts a rest-dialect modem and the binary with a
// credentials file and the target under targets: (timezone tz when set).
func restExporter(t *testing.T, tz string) (*modemsim.Simulator, *exporter) {
	t.Helper()
	sim := testkit.StartSim(t, modemsim.Config{Dialect: modemsim.DialectREST, Password: modemPassword})
	dir := t.TempDir()
	creds := testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	cfg := fmt.Sprintf("auths:\n  default:\n    file:\n      path: %s\ntargets:\n  %q:\n    fingerprint: %q\n    dialect: rest\n",
		creds, sim.Addr(), sim.Fingerprint().String())
	if tz != "" {
		cfg += "    timezone: " + tz + "\n"
	}
	return sim, startExporter(t, []string{modemPassword}, "--config.file="+testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), cfg))
}

// TestRestEventLogCountsEachEventOnce feeds the modem's log through the
// binary as it wraps and is cleared, two probes per state: the first log
// is the baseline (counters at 0), the wrap's four new rows count once, the
// cleared log's two rows count once, and a log seen again adds nothing.
// The last-event timestamps are the modem's wall clock in the target's
// timezone.
func TestRestEventLogCountsEachEventOnce(t *testing.T) {
	sim, e := restExporter(t, "Europe/Berlin")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		state modemsim.EventLogState
		// want are series and their values after the probe.
		want map[string]float64
	}{
		{modemsim.EventLogFull, map[string]float64{
			"hitron_docsis_t3_timeouts_total": 0, "hitron_docsis_t4_timeouts_total": 0,
			`hitron_event_log_entries{priority="critical"}`: 6, `hitron_event_log_entries{priority="notice"}`: 2,
			`hitron_event_log_entries{priority="emergency"}`:                     0,
			`hitron_event_log_last_event_timestamp_seconds{priority="critical"}`: float64(time.Date(2020, 11, 17, 9, 12, 40, 0, berlin).Unix()),
			// The baseline's kinds are counters at 0.
			`hitron_event_log_events_total{event_id="82000200",priority="critical"}`: 0,
			`hitron_event_log_events_total{event_id="84020200",priority="warning"}`:  0,
		}},
		{modemsim.EventLogWrapped, map[string]float64{
			"hitron_docsis_t3_timeouts_total": 1, "hitron_docsis_t4_timeouts_total": 1,
			`hitron_event_log_events_total{event_id="82000200",priority="critical"}`: 1,
			`hitron_event_log_events_total{event_id="82000400",priority="critical"}`: 1,
			`hitron_event_log_events_total{event_id="84020200",priority="warning"}`:  1,
			`hitron_event_log_events_total{event_id="68010600",priority="notice"}`:   1,
			`hitron_event_log_entries{priority="critical"}`:                          6,
			// Seen in the baseline only: still 0.
			`hitron_event_log_events_total{event_id="84000500",priority="critical"}`: 0,
		}},
		{modemsim.EventLogCleared, map[string]float64{
			"hitron_docsis_t3_timeouts_total": 2, "hitron_docsis_t4_timeouts_total": 1,
			`hitron_event_log_events_total{event_id="82000200",priority="critical"}`: 2,
			`hitron_event_log_events_total{event_id="74010100",priority="notice"}`:   1,
			`hitron_event_log_events_total{event_id="84020200",priority="warning"}`:  1,
			`hitron_event_log_entries{priority="critical"}`:                          1,
			`hitron_event_log_entries{priority="notice"}`:                            1,
			`hitron_event_log_entries{priority="warning"}`:                           0,
			// The newest critical event ever seen is now the cleared log's.
			`hitron_event_log_last_event_timestamp_seconds{priority="critical"}`: float64(time.Date(2020, 11, 19, 10, 0, 1, 0, berlin).Unix()),
		}},
	}
	for _, st := range steps {
		sim.SetEventLog(st.state)
		for round := 0; round < 2; round++ {
			_, body := e.get("/probe?target=" + sim.Addr())
			if !testkit.HasLine(body, "probe_success 1") {
				t.Fatalf("log %q, probe %d failed:\n%s", st.state, round, body)
			}
			// No event text (it carries MAC addresses) in any label.
			for _, text := range []string{"CM-MAC", "74:9b:e8", "time-out", "Ranging"} {
				if strings.Contains(body, text) {
					t.Fatalf("log %q: event text %q in the metrics:\n%s", st.state, text, body)
				}
			}
			for series, want := range st.want {
				if got, ok := metricValue(body, series); !ok || got != want {
					t.Errorf("log %q, probe %d: %s = %v (present %v), want %v", st.state, round, series, got, ok, want)
				}
			}
		}
	}
	if st := sim.Stats(); st.Logins != 6 || st.Logouts != 6 || st.SessionActive {
		t.Fatalf("%d logins, %d logouts, session left: %v", st.Logins, st.Logouts, st.SessionActive)
	}
}

// TestRestLogoutOnEveryPath: whatever the pages answer (a failure code, a
// lost session, junk, an HTTP error, a cut body), the probe fails with its
// reason and the session it opened is logged out.
func TestRestLogoutOnEveryPath(t *testing.T) {
	sim, e := restExporter(t, "")
	for _, c := range []struct {
		fault  modemsim.Fault
		reason string
	}{
		{modemsim.FaultNone, ""},
		{modemsim.FaultRESTError, "modem_error"},
		{modemsim.FaultGarbage, "bad_response"},
		{modemsim.FaultTruncated, "bad_response"},
		{modemsim.FaultHTTP500, "http_status"},
		{modemsim.FaultLostSession, "not_logged_in"},
	} {
		sim.SetFault(c.fault)
		before := sim.Stats()
		_, body := e.get("/probe?target=" + sim.Addr())
		if c.reason == "" {
			if !testkit.HasLine(body, "probe_success 1") {
				t.Fatalf("healthy probe:\n%s", body)
			}
		} else if !testkit.HasLine(body, `hitron_probe_failure_info{reason="`+c.reason+`"} 1`) {
			t.Errorf("fault %q: no reason %s in\n%s", c.fault, c.reason, body)
		}
		after := sim.Stats()
		if after.Logins != before.Logins+1 || after.Logouts != before.Logouts+1 || after.SessionActive {
			t.Errorf("fault %q: logins %d→%d, logouts %d→%d, session left %v: want one login and its logout",
				c.fault, before.Logins, after.Logins, before.Logouts, after.Logouts, after.SessionActive)
		}
		if !testkit.HasLine(body, "hitron_probe_logout_success 1") {
			t.Errorf("fault %q: the logout is not reported:\n%s", c.fault, body)
		}
	}
}

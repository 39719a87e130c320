package probe

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestEventMemoryLivesAndDiesWithTheModem: a modem's event counters live in
// its per-modem state: they count the wrapped log's new events once, and
// when that state is evicted (the table holds one modem and another is
// probed) they are forgotten with it, so the next probe of the modem is a
// new baseline: counters at 0 again, never the whole log counted anew.
func TestEventMemoryLivesAndDiesWithTheModem(t *testing.T) {
	a := startDialectSim(t, modemsim.Config{Dialect: modemsim.DialectREST})
	b := startDialectSim(t, modemsim.Config{Dialect: modemsim.DialectREST})
	var targets strings.Builder
	for _, s := range []*modemsim.Simulator{a, b} {
		fmt.Fprintf(&targets, "  %q:\n    fingerprint: %q\n    dialect: rest\n", s.Addr(), s.Fingerprint().String())
	}
	_, snap, _, _ := dialectEnv(t, targets.String())
	p := New(Options{MaxModems: 1})

	want := func(step, body string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(body, l+"\n") {
				t.Errorf("%s: no %q in\n%s", step, l, body)
			}
		}
	}
	_, body := probeOnce(t, p, snap, a.Addr())
	want("baseline", body, "probe_success{} 1", "hitron_docsis_t4_timeouts_total{} 0", `hitron_event_log_entries{priority="critical"} 6`)
	a.SetEventLog(modemsim.EventLogWrapped)
	_, body = probeOnce(t, p, snap, a.Addr())
	_, again := probeOnce(t, p, snap, a.Addr())
	for _, b := range []string{body, again} {
		want("wrapped", b, "hitron_docsis_t4_timeouts_total{} 1", "hitron_docsis_t3_timeouts_total{} 1")
	}
	if n := p.Devices(); n != 1 {
		t.Fatalf("%d devices", n)
	}
	_, body = probeOnce(t, p, snap, b.Addr()) // evicts a's state
	want("other modem", body, "probe_success{} 1", "hitron_docsis_t4_timeouts_total{} 0")
	_, body = probeOnce(t, p, snap, a.Addr())
	want("after eviction", body, "probe_success{} 1", "hitron_docsis_t4_timeouts_total{} 0", "hitron_docsis_t3_timeouts_total{} 0")
}

// TestFutureEventTimeDoesNotPinTheGauge: one row dated 2099 used to hold
// the last-event gauge there for good, whatever the modem logged later.
func TestFutureEventTimeDoesNotPinTheGauge(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var m eventlog.Memory
	logs := [][]eventlog.Entry{
		{{Index: 1, Priority: eventlog.Critical, EventID: "82000200", Time: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{{Index: 1, Priority: eventlog.Critical, EventID: "82000200", Time: now.Add(-time.Minute)}},
	}
	for _, l := range logs {
		forgetFutureTimes(l, now)
		m.Observe(l)
	}
	last := m.Snapshot().LastEvent[eventlog.Critical]
	if !last.Equal(now.Add(-time.Minute)) {
		t.Fatalf("last critical event at %s, want %s", last, now.Add(-time.Minute))
	}
}

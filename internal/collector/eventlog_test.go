package collector

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

func restBody(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "modemsim", "restfixtures", "CODA-4680", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// probeLog reads one of the simulator's CM/Log answers into the memory, as
// a probe of the rest dialect will.
func probeLog(t *testing.T, m *eventlog.Memory, name string, loc *time.Location) {
	t.Helper()
	log, err := hitron.ParseRESTLog(restBody(t, "CM/"+name), loc)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(log.Entries)
}

func eventSet(t *testing.T, snap eventlog.Snapshot) *Set {
	t.Helper()
	set := NewSet()
	AddEventLog(set, snap)
	if got, want := exposition(t, set), exposition(t, viaRegistry(t, set)); got != want {
		t.Fatalf("the Set's exposition differs from the registry's:\n%s\n%s", got, want)
	}
	return set
}

// TestEventLogMetrics probes the simulator's log three times (full, wrapped,
// cleared) and checks every event-log family.
func TestEventLogMetrics(t *testing.T) {
	var m eventlog.Memory
	if n := len(gatherNames(t, eventSet(t, m.Snapshot()))); n != 0 {
		t.Fatalf("%d families before any log was read", n)
	}
	loc := time.FixedZone("EST", -5*3600)
	probeLog(t, &m, "Log.json", loc)
	body := exposition(t, eventSet(t, m.Snapshot()))
	wantLines(t, body,
		`hitron_event_log_entries{priority="critical"} 6`, `hitron_event_log_entries{priority="error"} 1`,
		`hitron_event_log_entries{priority="warning"} 1`, `hitron_event_log_entries{priority="notice"} 2`,
		`hitron_event_log_entries{priority="emergency"} 0`, `hitron_event_log_entries{priority="debug"} 0`,
		`hitron_docsis_t3_timeouts_total 0`, `hitron_docsis_t4_timeouts_total 0`,
		// 11/17/2020 09:12:40 in UTC-5.
		`hitron_event_log_last_event_timestamp_seconds{priority="critical"} 1.60562236e+09`,
	)
	// The baseline is not counted; its kinds are series at 0, so that
	// their next event is an increase.
	wantLines(t, body, `hitron_event_log_events_total{event_id="82000200",priority="critical"} 0`,
		`hitron_event_log_events_total{event_id="74010100",priority="notice"} 0`)
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "hitron_event_log_events_total{") && !strings.HasSuffix(line, "} 0") {
			t.Errorf("the baseline log was counted: %s", line)
		}
	}
	probeLog(t, &m, "Log.wrapped.json", loc)
	probeLog(t, &m, "Log.cleared.json", loc)
	probeLog(t, &m, "Log.cleared.json", loc)
	body = exposition(t, eventSet(t, m.Snapshot()))
	wantLines(t, body,
		`hitron_event_log_events_total{event_id="82000200",priority="critical"} 2`,
		`hitron_event_log_events_total{event_id="82000400",priority="critical"} 1`,
		`hitron_event_log_events_total{event_id="84020200",priority="warning"} 1`,
		`hitron_event_log_events_total{event_id="68010600",priority="notice"} 1`,
		`hitron_event_log_events_total{event_id="74010100",priority="notice"} 1`,
		`hitron_docsis_t3_timeouts_total 2`, `hitron_docsis_t4_timeouts_total 1`,
		`hitron_event_log_entries{priority="critical"} 1`, `hitron_event_log_entries{priority="notice"} 1`,
		`hitron_event_log_entries{priority="warning"} 0`,
	)
	for _, leak := range []string{"CM-MAC", "74:9b", "Ranging", "Simulator text"} {
		if strings.Contains(body, leak) {
			t.Errorf("event text %q reached the exposition", leak)
		}
	}
	if strings.Contains(body, `priority="unknown"`) {
		t.Error("an unknown priority series without unknown rows")
	}
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("missing %s in\n%s", l, body)
		}
	}
}

func gatherNames(t *testing.T, set *Set) []string {
	t.Helper()
	mfs, err := set.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}

// restOnlyFamilies are the families only the REST family's pages feed:
// what the /data/ pages do not report gets names of its own.
var restOnlyFamilies = map[string]bool{"hitron_cm_data_rate_bytes_per_second": true}

// TestRESTDataYieldsTheCGNFamilies: the REST pages fill the same Data
// fields, so the collector emits no family the /data/ data sets do not,
// besides restOnlyFamilies, which it does emit.
func TestRESTDataYieldsTheCGNFamilies(t *testing.T) {
	d := &hitron.Data{}
	for _, p := range hitron.RESTPages {
		if p != hitron.RESTLog {
			if err := d.ParseREST(p, restBody(t, string(p)+".json")); err != nil {
				t.Fatal(err)
			}
		}
	}
	cgn := map[string]bool{}
	for _, set := range []string{"CGNV4-FX4", "CGNM-2250", "CODA-56", "CODA-45", "odd-values"} {
		for _, n := range gatherNames(t, gather(t, load(t, set))) {
			cgn[n] = true
		}
	}
	rest := gatherNames(t, gather(t, d))
	for _, n := range rest {
		if !cgn[n] && !restOnlyFamilies[n] {
			t.Errorf("the REST data set yields %s, which no /data/ data set does", n)
		}
	}
	for _, n := range []string{"hitron_system_info", "hitron_downstream_power_dbmv", "hitron_upstream_power_dbmv",
		"hitron_downstream_ofdm_locked", "hitron_upstream_ofdma_power_dbmv", "hitron_cm_init_step_success", "hitron_cm_dhcp_lease_seconds",
		"hitron_lan_uptime_seconds", "hitron_wan_uptime_seconds", "hitron_system_clock_timestamp_seconds", "hitron_network_receive_bytes_total",
		"hitron_cm_data_rate_bytes_per_second"} {
		if !contains(rest, n) {
			t.Errorf("the REST data set yields no %s", n)
		}
	}
	if len(rest) < 25 {
		t.Errorf("only %d families from the REST data set", len(rest))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEventLogFamiliesAreInTheContract: deploy's metric-name contract (what
// the dashboard and the alert rules may use) lists exactly the families
// AddEventLog emits.
func TestEventLogFamiliesAreInTheContract(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "deploy", "testdata", "metric-names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	contract := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			contract[l] = true
		}
	}
	var m eventlog.Memory
	m.Observe(nil)
	m.Observe([]eventlog.Entry{{Index: 1, Time: time.Unix(1.6e9, 0), EventID: "82000200", Priority: eventlog.Critical}})
	emitted := gatherNames(t, eventSet(t, m.Snapshot()))
	sort.Strings(emitted)
	want := append([]string(nil), EventLogFamilies...)
	sort.Strings(want)
	if strings.Join(emitted, " ") != strings.Join(want, " ") {
		t.Errorf("AddEventLog emits %v, EventLogFamilies lists %v", emitted, want)
	}
	for _, n := range emitted {
		if !contract[n] {
			t.Errorf("%s is emitted but missing from deploy/testdata/metric-names.txt", n)
		}
	}
	for n := range contract {
		if strings.Contains(n, "event_log") || strings.Contains(n, "_t3_") || strings.Contains(n, "_t4_") {
			if !contains(emitted, n) {
				t.Errorf("metric-names.txt lists %s, which AddEventLog does not emit", n)
			}
		}
	}
}

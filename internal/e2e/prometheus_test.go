package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/promenv"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// TestRealPrometheusScrapesThroughTheExporter runs Debian's Prometheus with
// the shipped deploy/prometheus scrape job (multi-target relabeling) and
// rules against the exporter and three simulated modems (CGNV4, CODA-45,
// and a CODA-4680 in the rest dialect), and finds each modem's series under
// its own instance label; the REST modem's event log then wraps, and its
// new T4 timeout reaches Prometheus as an increase that fires the shipped
// T4 alert.
func TestRealPrometheusScrapesThroughTheExporter(t *testing.T) {
	modems := []*modemsim.Simulator{
		testkit.StartSim(t, modemsim.Config{Password: modemPassword}),
		testkit.StartSim(t, modemsim.Config{Password: modemPassword, DataSet: "CODA-45"}),
		testkit.StartSim(t, modemsim.Config{Password: modemPassword, Dialect: modemsim.DialectREST}),
	}
	dir := t.TempDir()
	creds := testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	cfg := "auths:\n  default:\n    file:\n      path: " + creds + "\ntargets:\n"
	var targets []string
	for _, m := range modems {
		cfg += "  \"" + m.Addr() + "\":\n    fingerprint: \"" + m.Fingerprint().String() + "\"\n"
		targets = append(targets, m.Addr())
	}
	e := startExporter(t, []string{modemPassword}, "--config.file="+testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), cfg))

	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := promenv.RetargetJob(shipped, "hitron", targets, e.addr)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped rules too: their rule_files resolve against the absolute
	// folder (Prometheus runs in a temporary one).
	base, err := filepath.Abs(filepath.Join("..", "..", "deploy", "prometheus"))
	if err != nil {
		t.Fatal(err)
	}
	prom := promenv.Start(t, job, promenv.WithBaseDir(base))
	for _, m := range modems {
		samples := prom.WaitForSeries(t, `probe_success{job="hitron",instance="`+m.Addr()+`"} == 1`, 60*time.Second)
		if len(samples) != 1 {
			t.Fatalf("%s: %d probe_success series", m.Addr(), len(samples))
		}
		prom.WaitForSeries(t, `hitron_downstream_power_dbmv{job="hitron",instance="`+m.Addr()+`"}`, 30*time.Second)
	}
	// DOCSIS 3.1 series come only from the CODA modem.
	prom.WaitForSeries(t, `hitron_downstream_ofdm_snr_db{instance="`+modems[1].Addr()+`"}`, 30*time.Second)
	if s, err := prom.Query(t.Context(), `hitron_downstream_ofdm_snr_db{instance="`+modems[0].Addr()+`"}`); err != nil || len(s) != 0 {
		t.Fatalf("the CGNV4 has OFDM series: %v %v", s, err)
	}
	// The event log, through the binary from the REST modem: the baseline
	// (T4 at 0) first, then the wrapped log's one T4 timeout.
	rest := modems[2].Addr()
	prom.WaitForSeries(t, `hitron_docsis_t4_timeouts_total{instance="`+rest+`"} == 0`, 30*time.Second)
	modems[2].SetEventLog(modemsim.EventLogWrapped)
	prom.WaitForSeries(t, `hitron_docsis_t4_timeouts_total{instance="`+rest+`"} == 1`, 30*time.Second)
	prom.WaitForSeries(t, `ALERTS{alertname="HitronDocsisT4Timeouts", alertstate="firing", instance="`+rest+`"}`, 30*time.Second)
	if s, err := prom.Query(t.Context(), `hitron_docsis_t4_timeouts_total{instance="`+modems[0].Addr()+`"}`); err != nil || len(s) != 0 {
		t.Fatalf("the CGNV4 has event-log series: %v %v", s, err)
	}
}

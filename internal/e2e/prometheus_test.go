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
// the shipped deploy/prometheus scrape job (multi-target relabeling) against
// the exporter and two simulated modems, and finds each modem's series under
// its own instance label.
func TestRealPrometheusScrapesThroughTheExporter(t *testing.T) {
	modems := []*modemsim.Simulator{
		testkit.StartSim(t, modemsim.Config{Password: modemPassword}),
		testkit.StartSim(t, modemsim.Config{Password: modemPassword, DataSet: "CODA-45"}),
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
	prom := promenv.Start(t, job, promenv.WithBaseDir(filepath.Join("..", "..", "deploy", "prometheus")))
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
}

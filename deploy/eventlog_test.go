package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/promenv"
)

// eventLogSteps are the logs a modem shows, probe after probe: the
// simulator's CODA-4680 log (the baseline), the same buffer after it
// wrapped, after the user cleared it, and then with a T3 and a critical
// loss of sync added.
func eventLogSteps(t *testing.T) [][]eventlog.Entry {
	t.Helper()
	var steps [][]eventlog.Entry
	for _, name := range []string{"Log.json", "Log.wrapped.json", "Log.cleared.json"} {
		body, err := os.ReadFile(filepath.Join(dir(t), "..", "internal", "modemsim", "restfixtures", "CODA-4680", "CM", name))
		if err != nil {
			t.Fatal(err)
		}
		log, err := hitron.ParseRESTLog(body, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, log.Entries)
	}
	cleared := steps[len(steps)-1]
	at := cleared[len(cleared)-1].Time
	more := append(append([]eventlog.Entry(nil), cleared...),
		eventlog.Entry{Index: 3, Time: at.Add(time.Minute), EventID: "82000200", Priority: eventlog.Critical},
		eventlog.Entry{Index: 4, Time: at.Add(2 * time.Minute), EventID: "84000500", Priority: eventlog.Critical})
	return append(steps, more)
}

// TestEventLogPanelsAndRulesWithRealPrometheus: a loopback stand-in for
// /probe serves what the real collector code, AddEventLog over a real
// eventlog.Memory, emits for the simulator's logs, advancing one log every
// two scrapes, so that every step is seen at the scrape interval (the path
// through the binary, the rest dialect and the simulator is
// internal/e2e TestRealPrometheusScrapesThroughTheExporter). A real Prometheus scrapes it through the shipped job
// with the shipped rules: every event-log panel query returns data, and the
// T3, T4 and critical-event alerts fire.
func TestEventLogPanelsAndRulesWithRealPrometheus(t *testing.T) {
	t.Parallel()
	steps := eventLogSteps(t)
	var mu sync.Mutex
	var mem eventlog.Memory
	scrapes := 0
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/probe" || r.URL.Query().Get("target") != "192.0.2.1" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		mem.Observe(steps[min(scrapes/2, len(steps)-1)])
		scrapes++
		set := collector.NewSet()
		collector.AddEventLog(set, mem.Snapshot())
		mu.Unlock()
		mfs, _ := set.Gather()
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			_ = enc.Encode(mf)
		}
	}))
	t.Cleanup(fake.Close)

	promDir := filepath.Join(dir(t), "prometheus")
	cfg, err := promenv.RetargetJob(readFile(t, filepath.Join(promDir, "prometheus.yml")), "hitron", []string{"192.0.2.1"}, strings.TrimPrefix(fake.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p := promenv.Start(t, cfg, promenv.WithBaseDir(promDir))
	p.WaitForSeries(t, `hitron_docsis_t3_timeouts_total{instance="192.0.2.1"} >= 3`, 60*time.Second)

	ctx := context.Background()
	queried := 0
	for name, expr := range dashboardExprs(t) {
		if !strings.Contains(expr, "hitron_event_log_") && !strings.Contains(expr, "hitron_docsis_") {
			continue
		}
		queried++
		got, err := p.Query(ctx, expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if len(got) == 0 {
			t.Errorf("%s: %q returns nothing", name, expr)
		}
	}
	if queried < 5 {
		t.Errorf("only %d dashboard queries read the event-log families", queried)
	}
	for _, alert := range []string{"HitronDocsisT3Timeouts", "HitronDocsisT4Timeouts", "HitronModemCriticalEvents"} {
		p.WaitForSeries(t, `ALERTS{alertname="`+alert+`", alertstate="firing", instance="192.0.2.1"}`, 30*time.Second)
	}
	got, err := p.Query(ctx, `hitron_event_log_events_total{instance="192.0.2.1", event_id="82000200"}`)
	if err != nil || len(got) != 1 || got[0].Value != 3 {
		t.Errorf("T3 events counted %v (%v), want one series at 3: each event once across repeated probes", got, err)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// hostileSetup starts n simulated modems with fault on, and writes the
// home lab's configuration: one file profile, no targets, so any address
// may be probed unpinned (require_fingerprint is false for file).
func hostileSetup(t *testing.T, n int, cfg modemsim.Config, fault modemsim.Fault) ([]*modemsim.Simulator, string) {
	t.Helper()
	dir := t.TempDir()
	cfg.Password = modemPassword
	sims := make([]*modemsim.Simulator, n)
	for i := range sims {
		sims[i] = testkit.StartSim(t, cfg)
		sims[i].SetFault(fault)
	}
	creds := testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	return sims, testkit.WriteFile(t, filepath.Join(dir, "config.yml"), fmt.Sprintf("auths:\n  default:\n    file:\n      path: %s\n", creds))
}

// TestHostileModemMemory: eight concurrent probes of modems answering
// pages of distinct rows (the 4 MiB pages, then pages just under
// the body limit, so that the row bound is what stops them) keep the
// exporter's peak RSS under 128 MiB and fail too_large with HTTP 200.
func TestHostileModemMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight modems")
	}
	sims4, cfgFile := hostileSetup(t, 8, modemsim.Config{AmplifyBytes: 4<<20 - 4<<10}, modemsim.FaultAmplify)
	sims1, _ := hostileSetup(t, 8, modemsim.Config{AmplifyBytes: 1<<20 - 4<<10}, modemsim.FaultAmplify)
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgFile)
	pid := e.cmd.Process.Pid
	idle := vmHWM(t, pid)
	for _, round := range []struct {
		name string
		sims []*modemsim.Simulator
	}{{"4 MiB pages", sims4}, {"1 MiB pages", sims1}} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var lines, bytes int
		for _, sim := range round.sims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body := e.fetch(t, "/probe?target="+sim.Addr(), nil)
				if code != http.StatusOK {
					t.Errorf("%s: HTTP %d", round.name, code)
				}
				for _, l := range []string{"probe_success 0", `hitron_probe_failure_info{reason="too_large"} 1`} {
					if !testkit.HasLine(body, l) {
						t.Errorf("%s: no line %q in:\n%.2000s", round.name, l, body)
					}
				}
				mu.Lock()
				lines, bytes = max(lines, strings.Count(body, "\n")), max(bytes, len(body))
				mu.Unlock()
			}()
		}
		wg.Wait()
		hwm := vmHWM(t, pid)
		t.Logf("%s: answers of at most %d lines, %d bytes; exporter VmHWM %.1f MiB (idle %.1f MiB)",
			round.name, lines, bytes, float64(hwm)/(1<<20), float64(idle)/(1<<20))
		if hwm > 128<<20 {
			t.Errorf("%s: eight concurrent probes took the exporter's peak RSS to %.1f MiB (limit 128 MiB)", round.name, float64(hwm)/(1<<20))
		}
	}
	if !strings.Contains(e.out.String(), "too many rows") {
		t.Error("the log does not say a page had too many rows")
	}
}

// probeGauges reads hitron_exporter_probes_in_flight, the concurrency
// rejections and the unsent answers from /metrics.
func (e *exporter) probeGauges(t *testing.T) (inFlight, rejected, unsent float64) {
	t.Helper()
	_, body := e.fetch(t, "/metrics", nil)
	inFlight, _ = metricValue(body, "hitron_exporter_probes_in_flight")
	rejected, _ = metricValue(body, `hitron_exporter_probes_rejected_total{reason="concurrency"}`)
	unsent, _ = metricValue(body, "hitron_exporter_probe_answers_unsent_total")
	return inFlight, rejected, unsent
}

// waitFor polls cond every 50 ms until it holds or a generous deadline
// passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProbeConcurrencyLimit: with --probe.max-concurrent=2 and two probes
// of slow modems in flight, a third is answered 503 at once and counted;
// once they end, probes are admitted again.
func TestProbeConcurrencyLimit(t *testing.T) {
	sims, cfgFile := hostileSetup(t, 3, modemsim.Config{SlowDelay: time.Minute}, modemsim.FaultSlow)
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgFile, "--probe.max-concurrent=2")
	slow := map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "4"}
	var wg sync.WaitGroup
	for _, sim := range sims[:2] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := e.fetch(t, "/probe?target="+sim.Addr(), slow); code != http.StatusOK {
				t.Errorf("an admitted probe: HTTP %d", code)
			}
		}()
	}
	waitFor(t, "two probes in flight", 10*time.Second, func() bool { n, _, _ := e.probeGauges(t); return n == 2 })
	code, body := e.fetch(t, "/probe?target="+sims[2].Addr(), slow)
	inFlight, rejected, _ := e.probeGauges(t)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("third probe: HTTP %d, want 503: %s", code, body)
	}
	if inFlight != 2 {
		t.Fatalf("the 503 came after the probes in flight ended (%v in flight): it was not at once", inFlight)
	}
	if rejected != 1 {
		t.Errorf("hitron_exporter_probes_rejected_total{reason=\"concurrency\"} = %v, want 1", rejected)
	}
	if st := sims[2].Stats(); st.Requests != 0 {
		t.Errorf("the refused probe reached its modem (%d requests)", st.Requests)
	}
	wg.Wait()
	if !strings.Contains(e.out.String(), "--probe.max-concurrent probes are in flight") {
		t.Error("no log line says probes were refused")
	}
	sims[2].SetFault(modemsim.FaultNone)
	if code, body := e.fetch(t, "/probe?target="+sims[2].Addr(), nil); code != http.StatusOK || !testkit.HasLine(body, "probe_success 1") {
		t.Errorf("after the probes ended: HTTP %d:\n%.1000s", code, body)
	}
}

// TestUnreadProbeAnswer: clients that send a probe request and never read
// the answer (a large one: the bounds are raised) hold neither the
// answer's goroutine nor its probe slot past --web.probe-write-timeout.
func TestUnreadProbeAnswer(t *testing.T) {
	const clients = 2
	sims, cfgFile := hostileSetup(t, clients, modemsim.Config{AmplifyBytes: 1<<20 - 4<<10}, modemsim.FaultAmplify)
	// A soft memory limit makes the exporter's garbage collector run as
	// soon as the dropped answers are garbage, so that the heap shows
	// what is still held.
	t.Setenv("GOMEMLIMIT", "48MiB")
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgFile, "--web.probe-write-timeout=1s",
		"--probe.max-page-rows=1000000", "--probe.max-samples=100000000")
	base := e.goroutines(t)
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		// A small receive window: the answer stays in the exporter.
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	for _, sim := range sims {
		c, err := dialer.DialContext(context.Background(), "tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := fmt.Fprintf(c, "GET /probe?target=%s HTTP/1.1\r\nHost: %s\r\n\r\n", sim.Addr(), e.addr); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the probes to start", 10*time.Second, func() bool { n, _, _ := e.probeGauges(t); return n == clients })
	// The probes take a few seconds; then each answer has a second to go.
	waitFor(t, "the unread answers to be dropped", 60*time.Second, func() bool { n, _, _ := e.probeGauges(t); return n == 0 })
	_, _, unsent := e.probeGauges(t)
	if unsent != clients {
		t.Errorf("hitron_exporter_probe_answers_unsent_total = %v, want %d", unsent, clients)
	}
	waitFor(t, "the answers' goroutines to end", 10*time.Second, func() bool { return e.goroutines(t) <= base+2 })
	var heap float64
	waitFor(t, "the heap to come back under 48 MiB", 10*time.Second, func() bool {
		_, body := e.fetch(t, "/metrics", nil)
		heap, _ = metricValue(body, "go_memstats_heap_inuse_bytes")
		return heap < 48<<20
	})
	t.Logf("after the unread answers were dropped: %.0f goroutines (%.0f before), heap in use %.1f MiB", e.goroutines(t), base, heap/(1<<20))
}

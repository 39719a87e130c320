package server

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestHostileModemBounds: a modem that lists more rows than a page may
// have, or whose rows make more samples than a probe may have, fails the
// probe with too_large (HTTP 200, probe_success 0); what is kept is said
// in docs/security.md.
func TestHostileModemBounds(t *testing.T) {
	tests := []struct {
		name string
		// bytes of distinct rows on every row page.
		bytes   int
		success bool
		// device: some of the modem's samples are kept (the pages under
		// the bounds); downstream: the downstream channels are.
		device, downstream bool
		log                string
	}{
		{"many rows under both bounds", 8 << 10, true, true, true, ""},
		{"pages over the row bound", 1<<20 - 4<<10, false, true, false, "too many rows"},
		// (getLinkStatus goes over the row bound too and is the first
		// failure logged; that no sample of the modem is left is the
		// sample bound's doing.)
		{"samples over the sample bound", 150 << 10, false, false, false, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{AmplifyBytes: tt.bytes}, pinnedConfig)
			e.sim.SetFault(modemsim.FaultAmplify)
			body := e.probe("target=" + e.sim.Addr())
			if tt.success {
				wantLines(t, body, "probe_success 1")
			} else {
				wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="too_large"} 1`)
				if !strings.Contains(e.logs.String(), tt.log) {
					t.Errorf("the log does not say %q", tt.log)
				}
			}
			if got := strings.Contains(body, "\nhitron_system_info{"); got != tt.device {
				t.Errorf("the modem's samples kept: %v, want %v", got, tt.device)
			}
			if got := strings.Contains(body, "\nhitron_downstream_frequency_hertz{"); got != tt.downstream {
				t.Errorf("downstream channels kept: %v, want %v", got, tt.downstream)
			}
			if lines := strings.Count(body, "\n"); lines > 2*10000 {
				t.Errorf("the answer has %d lines", lines)
			}
			e.assertSessionFreed()
		})
	}
}

// TestProbeWriteDeadlineEndsWithTheAnswer: the deadline of one answer does
// not outlive it on a kept-alive connection, which carries the next
// request (a probe, /metrics) after the deadline has passed. (net/http
// clears it once a handler is done; this guards that the exporter relies
// on it rightly, with and without a debug answer.)
func TestProbeWriteDeadlineEndsWithTheAnswer(t *testing.T) {
	const grace = 200 * time.Millisecond
	e := newEnv(t, modemsim.Config{}, pinnedConfig, func(o *Options) { o.ProbeWriteTimeout = grace })
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i, path := range []string{"/probe?target=" + e.sim.Addr(), "/probe?target=" + e.sim.Addr(), "/metrics", "/probe?target=" + e.sim.Addr() + "&debug=1", "/metrics"} {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, e.http.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, path, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d (%s): HTTP %d, %v", i, path, resp.StatusCode, err)
		}
		if strings.HasPrefix(path, "/probe") && !strings.Contains(string(body), "probe_success 1") {
			t.Fatalf("request %d (%s) failed:\n%s", i, path, body)
		}
		if i > 0 && !reused {
			t.Fatalf("request %d (%s) did not reuse the connection", i, path)
		}
		time.Sleep(2 * grace)
	}
}

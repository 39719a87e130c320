package server

import (
	"strings"
	"testing"

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

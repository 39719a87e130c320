package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// TestDemoMode is the README's first command: --demo serves a landing page
// whose link probes a built-in simulated modem and gets real metrics.
func TestDemoMode(t *testing.T) {
	for _, dataset := range []string{"", "CODA-45", "CODA-56", "CODA-4680"} {
		t.Run("dataset="+dataset, func(t *testing.T) {
			args := []string{"--demo"}
			if dataset != "" {
				args = append(args, "--demo.dataset="+dataset)
			}
			e := startExporter(t, nil, args...)
			code, page := e.get("/")
			if code != 200 || !strings.Contains(page, "Demo mode") {
				t.Fatalf("landing page: %d\n%s", code, page)
			}
			link := regexp.MustCompile(`href="(/probe\?target=[^"]+)"`).FindStringSubmatch(page)
			if link == nil {
				t.Fatalf("no probe link on the landing page:\n%s", page)
			}
			_, body := e.get(link[1])
			if !testkit.HasLine(body, "probe_success 1") || !testkit.HasLine(body, "hitron_tls_pin_match 1") || !strings.Contains(body, "hitron_downstream_power_dbmv{") {
				t.Fatalf("demo probe:\n%s", body)
			}
			if dataset == "CODA-4680" {
				// The REST family: detected, logged in with the demo's
				// credentials file, and its event log.
				for _, line := range []string{`hitron_modem_dialect_info{dialect="rest"} 1`, "hitron_docsis_t3_timeouts_total 0",
					`hitron_event_log_entries{priority="critical"} 6`, "hitron_probe_logout_success 1"} {
					if !testkit.HasLine(body, line) {
						t.Fatalf("the CODA-4680 demo lacks %q:\n%s", line, body)
					}
				}
				return
			}
			if dataset != "" && !strings.Contains(body, "hitron_downstream_ofdm_snr_db{") {
				t.Fatalf("the %s demo has no OFDM series:\n%s", dataset, body)
			}
			if dataset != "" && (!testkit.HasLine(body, `hitron_modem_dialect_info{dialect="open"} 1`) ||
				!testkit.HasLine(body, `hitron_credential_source_info{profile="",source="none"} 1`) || !strings.Contains(page, "no credentials at all")) {
				t.Fatalf("the %s demo is not an open modem without credentials:\n%s\n%s", dataset, page, body)
			}
		})
	}
}

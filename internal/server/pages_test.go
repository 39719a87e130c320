package server

import (
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestConfigPageLeavesOutEmptyDefaults: /config shows what was configured,
// not a zero value for every option a target did not set.
func TestConfigPageLeavesOutEmptyDefaults(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig+"  \"192.0.2.7\":\n    fingerprint: \"{{fp}}\"\n    timeout: 7s\n    tls:\n      min_version: \"1.2\"\n")
	_, body := e.get("/config")
	for _, unset := range []string{`address: ""`, "timeout: 0s", "cipher_suites: []", "datasets: []", `timezone: ""`, "force: false", `auth: ""`, "tls: {}"} {
		if strings.Contains(body, unset) {
			t.Errorf("/config shows the unset %q", unset)
		}
	}
	for _, set := range []string{"fingerprint: " + e.sim.Fingerprint().String(), "timeout: 7s", `min_version: "1.2"`} {
		if !strings.Contains(body, set) {
			t.Errorf("/config lacks %q", set)
		}
	}
	if t.Failed() {
		t.Logf("/config:\n%s", body)
	}
}

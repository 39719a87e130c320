package server

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestPromtoolCheckMetrics lints real /probe output of every data set, and
// of a failed probe, with promtool from Debian's prometheus package.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (scripts/test.sh does)")
	}
	for _, set := range append(modemsim.DataSets(), "failed-probe") {
		t.Run(set, func(t *testing.T) {
			cfg := modemsim.Config{}
			if set != "failed-probe" {
				cfg.DataSet = set
			}
			e := newEnv(t, cfg, pinnedConfig)
			if set == "failed-probe" {
				e.sim.SetFault(modemsim.FaultHTTP500)
			}
			body := e.probe("target=" + e.sim.Addr())
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(body)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
			}
		})
	}
}

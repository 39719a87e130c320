package loadtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TestMain doubles as the raw baseline worker: the harness starts this
// test binary with "raw-worker" as its first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "raw-worker" {
		if err := RawWorkerMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunReportsFigures runs the harness end to end on three modems in
// each login dialect: the real exporter binary, the raw worker in its own
// process, every figure of the report filled in.
func TestRunReportsFigures(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hitron-exporter")
	var out strings.Builder
	if err := BuildExporter(bin, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	tests := []struct{ dialect, dataSet string }{
		{modemsim.DialectCGN, modemsim.DefaultDataSet},
		{modemsim.DialectOpen, "CODA-56"},
		{modemsim.DialectCODAUserID, modemsim.DefaultDataSet},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			var log strings.Builder
			rep, err := Run(context.Background(), Options{
				Exporter: bin, Modems: 3, Interval: 600 * time.Millisecond, Duration: 1200 * time.Millisecond,
				DataSet: tt.dataSet, Dialect: tt.dialect, IdleWindow: 300 * time.Millisecond, Log: &log,
				RawWorker: func(o RawWorkerOptions) []string {
					return append([]string{os.Args[0], "raw-worker"}, RawWorkerArgs(o)...)
				},
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			t.Log(rep)
			switch {
			case rep.Probes < 3 || rep.Failures != 0:
				t.Errorf("%d probes, %d failed; want at least 3, none failed\n%s", rep.Probes, rep.Failures, log.String())
			case rep.RawFailures != 0 || rep.RawP50 <= 0:
				t.Errorf("raw baseline: p50 %s, %d failures", rep.RawP50, rep.RawFailures)
			case rep.P50 <= 0 || rep.P99 < rep.P50:
				t.Errorf("latencies p50 %s p99 %s", rep.P50, rep.P99)
			case rep.PeakRSSBytes <= 0:
				t.Errorf("peak RSS %d", rep.PeakRSSBytes)
			case !strings.Contains(rep.String(), "cpu_ratio="):
				t.Errorf("report %q lacks the CPU ratio", rep.String())
			}
		})
	}
}

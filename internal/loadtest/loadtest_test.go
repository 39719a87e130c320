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
// each login dialect, with and without a latency model: the real exporter
// binary, the raw worker in its own process, every figure of the report
// filled in.
func TestRunReportsFigures(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hitron-exporter")
	var out strings.Builder
	if err := BuildExporter(bin, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	tests := []struct{ dialect, dataSet, latency string }{
		{modemsim.DialectCGN, modemsim.DefaultDataSet, "0"},
		{modemsim.DialectCGN, modemsim.DefaultDataSet, "2ms+longtail:5ms-40ms"},
		{modemsim.DialectOpen, "CODA-56", "0"},
		{modemsim.DialectCODAUserID, modemsim.DefaultDataSet, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.dialect+"/latency="+tt.latency, func(t *testing.T) {
			fixed, tail, err := modemsim.ParseLatency(tt.latency)
			if err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			rep, err := Run(context.Background(), Options{
				Exporter: bin, Modems: 3, Interval: 600 * time.Millisecond, Duration: 1200 * time.Millisecond,
				Latency: fixed, LatencyTail: tail,
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
			case rep.IdleGoroutines <= 0:
				t.Errorf("idle goroutines %v: /metrics not read", rep.IdleGoroutines)
			case !strings.Contains(rep.String(), "cpu_ratio="):
				t.Errorf("report %q lacks the CPU ratio", rep.String())
			}
		})
	}
}

func TestModemHost(t *testing.T) {
	tests := []struct {
		i, n int
		want string
	}{
		{0, 1, "127.0.0.1"},
		{499, 500, "127.0.0.1"},
		{0, 501, "127.0.1.1"},
		{499, 10000, "127.0.1.1"},
		{500, 10000, "127.0.1.2"},
		{9999, 10000, "127.0.1.20"},
		{250 * 500, 200000, "127.0.2.1"},
	}
	for _, tt := range tests {
		if got := ModemHost(tt.i, tt.n); got != tt.want {
			t.Errorf("ModemHost(%d, %d) = %s, want %s", tt.i, tt.n, got, tt.want)
		}
	}
}

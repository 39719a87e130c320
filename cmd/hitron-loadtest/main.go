// Command hitron-loadtest measures hitron-exporter under load against
// simulated modems on 127.0.0.1 and prints the figures (see
// docs/performance.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/loadtest"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "raw-worker" {
		// The harness runs its baseline in a process of its own: this one.
		if err := loadtest.RawWorkerMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		os.Exit(compare(os.Args[2:]))
	}
	modems := flag.String("modems", "1,100,1000", "Comma-separated numbers of simulated modems, one run each.")
	interval := flag.Duration("interval", 15*time.Second, "How often each modem is probed.")
	duration := flag.Duration("duration", 30*time.Second, "How long each run measures.")
	latency := flag.String("latency", "0", "Delay the simulated modems add to every request: a duration (20ms), longtail:MIN-MAX (a log-normal tail, seeded per modem: longtail:30ms-300ms), or both joined by +.")
	dataSet := flag.String("dataset", modemsim.DefaultDataSet, "Data set the modems serve.")
	exporter := flag.String("exporter", "", "hitron-exporter binary (default: build ./cmd/hitron-exporter).")
	exporterEnv := flag.String("exporter-env", "", "Space-separated NAME=value pairs added to the exporter's environment.")
	flag.Parse()
	fixed, tail, err := modemsim.ParseLatency(*latency)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rawCommand := func(o loadtest.RawWorkerOptions) []string {
		return append([]string{self, "raw-worker"}, loadtest.RawWorkerArgs(o)...)
	}

	bin := *exporter
	if bin == "" {
		dir, err := os.MkdirTemp("", "hitron-loadtest-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer func() { _ = os.RemoveAll(dir) }()
		bin = filepath.Join(dir, "hitron-exporter")
		if err := loadtest.BuildExporter(bin, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, field := range strings.Split(*modems, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bad -modems value %q\n", field)
			os.Exit(2)
		}
		rep, err := loadtest.Run(context.Background(), loadtest.Options{
			Exporter: bin, Modems: n, Interval: *interval, Duration: *duration, Latency: fixed, LatencyTail: tail, DataSet: *dataSet, Log: os.Stderr,
			ExporterEnv: strings.Fields(*exporterEnv), RawWorker: rawCommand,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(1)
		}
		fmt.Println(rep)
	}
}

// compare runs the side-by-side comparison with the original Python
// exporter (scripts/compare-python.sh sets it up).
func compare(args []string) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	original := fs.String("original-dir", "", "Directory with the original's hitron_exporter package and its shims (see scripts/compare-python.sh).")
	gunicorn := fs.String("gunicorn", "/usr/bin/gunicorn", "gunicorn command.")
	latency := fs.Duration("latency", 40*time.Millisecond, "Delay the simulated modem adds to every request.")
	rounds := fs.Int("rounds", 6, "Paired rounds (original, then ours).")
	probes := fs.Int("probes", 10, "Sequential probes per side per round.")
	exporter := fs.String("exporter", "", "hitron-exporter binary (default: build ./cmd/hitron-exporter).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *original == "" {
		fmt.Fprintln(os.Stderr, "compare: -original-dir is required")
		return 2
	}
	bin := *exporter
	if bin == "" {
		dir, err := os.MkdirTemp("", "hitron-loadtest-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }()
		bin = filepath.Join(dir, "hitron-exporter")
		if err := loadtest.BuildExporter(bin, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	res, err := loadtest.Compare(context.Background(), loadtest.CompareOptions{
		Exporter: bin, OriginalDir: *original, Gunicorn: *gunicorn, Latency: *latency, Rounds: *rounds, Probes: *probes, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		return 1
	}
	fmt.Println(loadtest.CompareSummary(res))
	return 0
}

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
	modems := flag.String("modems", "1,100,1000", "Comma-separated numbers of simulated modems, one run each.")
	interval := flag.Duration("interval", 15*time.Second, "How often each modem is probed.")
	duration := flag.Duration("duration", 30*time.Second, "How long each run measures.")
	latency := flag.Duration("latency", 0, "Delay the simulated modems add to every request.")
	dataSet := flag.String("dataset", modemsim.DefaultDataSet, "Data set the modems serve.")
	dialect := flag.String("dialect", modemsim.DialectCGN, "Login dialect the modems speak (and their targets name): "+strings.Join(modemsim.Dialects, ", ")+".")
	exporter := flag.String("exporter", "", "hitron-exporter binary (default: build ./cmd/hitron-exporter).")
	exporterEnv := flag.String("exporter-env", "", "Space-separated NAME=value pairs added to the exporter's environment.")
	flag.Parse()

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
			Exporter: bin, Modems: n, Interval: *interval, Duration: *duration, Latency: *latency, DataSet: *dataSet, Dialect: *dialect, Log: os.Stderr,
			ExporterEnv: strings.Fields(*exporterEnv), RawWorker: rawCommand,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(1)
		}
		fmt.Println(rep)
	}
}

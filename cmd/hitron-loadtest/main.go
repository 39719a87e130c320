// Command hitron-loadtest measures hitron-exporter under load against
// simulated modems on 127.0.0.1 and prints the figures (see
// docs/performance.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/loadtest"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor-server" {
		// The HTTP floor side runs this binary as its server.
		if err := loadtest.FloorServerMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "raw-worker" {
		// The harness runs its baseline in a process of its own: this one.
		if err := loadtest.RawWorkerMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "compare":
			os.Exit(compare(os.Args[2:]))
		case "modems":
			os.Exit(modems(os.Args[2:]))
		case "side":
			os.Exit(side(os.Args[2:]))
		}
	}
	modems := flag.String("modems", "1,100,1000", "Comma-separated numbers of simulated modems, one run each.")
	interval := flag.Duration("interval", 15*time.Second, "How often each modem is probed.")
	duration := flag.Duration("duration", 30*time.Second, "How long each run measures.")
	latency := flag.String("latency", "0", "Delay the simulated modems add to every request: a duration (20ms), longtail:MIN-MAX (a log-normal tail, seeded per modem: longtail:30ms-300ms), or both joined by +.")
	dataSet := flag.String("dataset", modemsim.DefaultDataSet, "Data set the modems serve.")
	dialect := flag.String("dialect", modemsim.DialectCGN, "Login dialect the modems speak (and their targets name): "+strings.Join(modemsim.Dialects, ", ")+".")
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
			Exporter: bin, Modems: n, Interval: *interval, Duration: *duration, Latency: fixed, LatencyTail: tail, DataSet: *dataSet, Dialect: *dialect, Log: os.Stderr,
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

// modems runs the long-lived half of a paired measurement: the simulated
// modems and the driver (see loadtest.ServeModems), until interrupted.
func modems(args []string) int {
	fs := flag.NewFlagSet("modems", flag.ContinueOnError)
	n := fs.Int("modems", 300, "Number of simulated modems.")
	latency := fs.String("latency", "0", "Latency model, as for the load test's -latency.")
	dataSet := fs.String("dataset", modemsim.DefaultDataSet, "Data set the modems serve.")
	dialect := fs.String("dialect", modemsim.DialectCGN, "Login dialect the modems speak (and their targets name): "+strings.Join(modemsim.Dialects, ", ")+".")
	dir := fs.String("dir", "", "Directory for config.yml, credentials.yml and modems.json (created if missing).")
	control := fs.String("control", "127.0.0.1:0", "Loopback address of the driver.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fixed, tail, err := modemsim.ParseLatency(*latency)
	if err != nil || *dir == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "modems: -dir, -modems >= 1 and a valid -latency are required", err)
		return 2
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadtest.ServeModems(ctx, loadtest.ModemsOptions{Modems: *n, Latency: fixed, LatencyTail: tail, DataSet: *dataSet, Dialect: *dialect, Dir: *dir, Control: *control, Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "modems:", err)
		return 1
	}
	return 0
}

// side runs one measured side of a paired measurement against a running
// modems process and prints what it did (see loadtest.Side); time it as a
// whole process.
func side(args []string) int {
	fs := flag.NewFlagSet("side", flag.ContinueOnError)
	dir := fs.String("dir", "", "The modems process's -dir.")
	which := fs.String("side", "exporter", "exporter, raw, http-floor (a server that only answers the scrapes, this binary), raw-server (that server making the raw client's exchanges before it answers), sequential-exporter or sequential-original.")
	command := fs.String("command", "", "The server to start: the hitron-exporter binary, or gunicorn for the original.")
	original := fs.String("original-dir", "", "Directory with the original's package and shims (sequential-original).")
	interval := fs.Duration("interval", 5*time.Second, "How often each modem is probed.")
	duration := fs.Duration("duration", 15*time.Second, "How long the schedule runs after its warm-up interval.")
	probes := fs.Int("probes", 20, "Sequential probes (after three warm-up probes).")
	floorWait := fs.Duration("floor-wait", loadtest.DefaultFloorWait, "How long the http-floor server waits before each answer (take the raw side's p50).")
	cpuProfile := fs.String("cpuprofile", "", "Write a CPU profile of this process (the raw client's side) to this file.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "side:", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	if (*which == "http-floor" || *which == "raw-server") && *command == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "side:", err)
			return 1
		}
		*command = self
	}
	if *dir == "" || (*which != "raw" && *command == "") {
		fmt.Fprintln(os.Stderr, "side: -dir is required, and -command unless -side=raw, http-floor or raw-server")
		return 2
	}
	res, err := loadtest.Side(context.Background(), loadtest.SideOptions{
		Dir: *dir, Side: *which, Command: *command, OriginalDir: *original, Interval: *interval, Duration: *duration, Probes: *probes, FloorWait: *floorWait, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "side:", err)
		return 1
	}
	fmt.Println(res)
	if res.Failures > 0 {
		return 1
	}
	return 0
}

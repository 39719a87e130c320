// Package exporter is the hitron-exporter command as a library, so that a
// binary with credential providers of its own can be built without forking
// the exporter: register their kinds in a secrets.Registry next to the
// built-in ones and call Run from main.
//
//	func main() {
//		reg := builtin.Registry()
//		reg.Register("env", envprovider.Kind())
//		os.Exit(exporter.Run(os.Args[1:], reg))
//	}
//
// Run is the whole of the package: the flags, the configuration file, the
// endpoints and the metrics are those of cmd/hitron-exporter, which is
// itself only this call with the built-in registry. examples/envprovider is
// a provider in a module of its own built this way.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/demo"
	"github.com/hitron-exporter/hitron-exporter/internal/logging"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
	"github.com/hitron-exporter/hitron-exporter/internal/server"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

const defaultConfigFile = "hitron-exporter.yml"

// defaultGOGC is the garbage collector's growth target unless the GOGC
// environment variable sets one. The exporter's live heap is small and a
// probe's allocations die with it, so collecting at 200 % heap growth
// instead of Go's 100 % saves about a tenth of its CPU for about 5 MiB of
// memory at 1000 modems (docs/performance.md). Prometheus itself picks its
// own default the same way.
const defaultGOGC = 200

// DefaultGOMAXPROCS is --runtime.gomaxprocs' default, as in node_exporter:
// the exporter spends its probes waiting on modems, and with more than one
// processor Go's scheduler wakes a second thread for work the running one
// could take next, which costs more CPU than the parallelism saves
// (docs/performance.md: about 8 % of the exporter's CPU at 300 modems).
// One processor carries 10,000 modems probed every minute at under half
// its time (docs/scaling.md).
const DefaultGOMAXPROCS = 1

// Run runs the exporter with args, the command line without the program's
// name, and the provider kinds of reg (the names an auths: profile may
// use), until SIGINT or SIGTERM; it returns the process's exit status: 0
// after a clean shutdown or a valid --config.check, 1 when the
// configuration is invalid or the listener fails, 2 for bad flags. Call it
// once per process: it sets the garbage collector's default target (unless
// GOGC is set) and the version shown by --version and build_info (unless
// -ldflags set github.com/prometheus/common/version.Version).
func Run(args []string, reg *secrets.Registry) int {
	if version.Version == "" {
		// Set by -ldflags in release builds; otherwise the module version.
		version.Version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version.Version = bi.Main.Version
		}
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGOGC)
	}
	return run(args, reg)
}

func run(args []string, reg *secrets.Registry) int {
	app := kingpin.New("hitron-exporter", "Prometheus exporter for Hitron CGN cable modems (multi-target: scrape /probe?target=<modem>).")
	configFile := app.Flag("config.file", "Configuration file (YAML). A missing default file means an empty configuration.").Default(defaultConfigFile).String()
	configCheck := app.Flag("config.check", "Validate the configuration file and exit (non-zero with file, line and field on error).").Bool()
	logLevel := app.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").Enum(logging.Levels...)
	logFormat := app.Flag("log.format", "Log format: logfmt or json.").Default("logfmt").Enum(logging.Formats...)
	timeoutOffset := app.Flag("timeout-offset", "Seconds subtracted from Prometheus' scrape timeout to leave time for the answer.").Default("0.5").Float64()
	allowURLCreds := app.Flag("probe.allow-url-credentials", "Accept the original exporter's usr/pwd probe parameters (credentials in URLs leak into configs and logs).").Bool()
	// Bounds on what a probe may take (docs/security.md).
	maxConcurrent := app.Flag("probe.max-concurrent", "Probes in flight at most; past it /probe answers 503 at once.").Default(strconv.Itoa(server.DefaultMaxConcurrent)).Int()
	maxPageRows := app.Flag("probe.max-page-rows", "Rows a modem's data page may list; a page with more fails the probe (too_large).").Default(strconv.Itoa(probe.DefaultMaxPageRows)).Int()
	maxSamples := app.Flag("probe.max-samples", "Samples a modem's data may make in one probe; a probe with more keeps none and fails (too_large).").Default(strconv.Itoa(probe.DefaultMaxSamples)).Int()
	maxBodyBytes := app.Flag("probe.max-body-bytes", "Bytes a modem's answer may have; a longer one fails the probe (too_large).").Default(strconv.Itoa(probe.DefaultMaxBodyBytes)).Int64()
	probeWriteTimeout := app.Flag("web.probe-write-timeout", "Time a probe's answer may take to be written once the probe is done; an answer not read by then is dropped.").Default(server.DefaultProbeWriteTimeout.String()).Duration()
	demoMode := app.Flag("demo", "Start a simulated modem on loopback with file credentials and serve a landing page whose link probes it.").Bool()
	demoData := app.Flag("demo.dataset", "Model whose pages the demo modem serves: "+strings.Join(modemsim.ModelDataSets(), ", ")+".").
		Default(modemsim.DefaultDataSet).Enum(modemsim.ModelDataSets()...)
	maxConnections := app.Flag("web.max-connections", "Maximum number of simultaneous connections across all listeners; when reached, the connection idle longest is closed to make room.").Default("2048").Int()
	readTimeout := app.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections.").Default("2m").Duration()
	maxHeaderBytes := app.Flag("web.max-request-header-bytes", "Maximum size of a request's headers.").Default("32768").Int()
	maxModems := app.Flag("probe.max-modems", "Modems whose state (refusals, lock-outs, back-offs, sessions) is kept; state that protects a modem is never evicted, and when it fills the table probes of targets not under targets: fail with too_many_modems.").Default(strconv.Itoa(probe.DefaultMaxModems)).Int()
	maxProcs := app.Flag("runtime.gomaxprocs", "CPUs the exporter's Go code runs on at once (GOMAXPROCS; the variable sets the default). The exporter mostly waits on modems, and one costs the least CPU per probe; raise it when probes wait for CPU (docs/scaling.md).").
		Envar("GOMAXPROCS").Default(strconv.Itoa(DefaultGOMAXPROCS)).Int()
	maxQueue := app.Flag("probe.max-queue", "Probes of one modem that may run or wait at once (it answers one session at a time); more fail at once.").Default(strconv.Itoa(probe.DefaultMaxQueued)).Int()
	toolkitFlags := kingpinflag.AddFlags(app, ":9938")
	app.Version(version.Print("hitron-exporter"))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *maxConcurrent < 1 || *maxPageRows < 1 || *maxSamples < 1 || *maxBodyBytes < 1 || *probeWriteTimeout <= 0 || *maxProcs < 1 {
		fmt.Fprintln(os.Stderr, "--probe.max-concurrent, --probe.max-page-rows, --probe.max-samples, --probe.max-body-bytes, --web.probe-write-timeout and --runtime.gomaxprocs must be positive")
		return 2
	}

	log, err := logging.New(*logLevel, *logFormat, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	if *configCheck {
		return checkConfig(*configFile, reg, log)
	}
	// Set only to serve: a check (and Run called by a test) leaves the
	// process's setting alone.
	runtime.GOMAXPROCS(*maxProcs)

	load := func() (*config.Config, error) {
		return config.Load(*configFile, *configFile == defaultConfigFile)
	}
	banner := ""
	if *demoMode {
		// The demo serves loopback only unless told otherwise.
		if !flagGiven(args, "web.listen-address") {
			*toolkitFlags.WebListenAddresses = []string{"127.0.0.1:9938"}
		}
		d, err := demo.Start(*demoData, *toolkitFlags.WebListenAddresses...)
		if err != nil {
			log.Error("cannot start the demo modem", zap.Error(err))
			return 1
		}
		defer func() { _ = d.Close() }()
		load = d.Load
		creds := "its credentials come from a generated file"
		if !d.Credentials {
			creds = "it needs no login (dialect open), so the demo has no credentials at all"
		}
		banner = fmt.Sprintf("Demo mode: a simulated %s modem listens on %s (certificate fingerprint %s); %s.",
			*demoData, d.Sim.Addr(), d.Sim.Fingerprint(), creds)
		log.Info("demo modem started", zap.String("address", d.Sim.Addr()), zap.String("fingerprint", d.Sim.Fingerprint().String()))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, server.Options{
		Logger: log, Registry: reg, Load: load, AllowURLCredentials: *allowURLCreds,
		TimeoutOffset: time.Duration(*timeoutOffset * float64(time.Second)),
		Version:       version.Version, Banner: banner,
		MaxModems: *maxModems, MaxQueuedPerModem: *maxQueue,
		MaxConcurrent: *maxConcurrent, MaxPageRows: *maxPageRows, MaxSamples: *maxSamples, MaxBodyBytes: *maxBodyBytes,
		ProbeWriteTimeout: *probeWriteTimeout,
	})
	if err != nil {
		log.Error("cannot load the configuration", zap.Error(err))
		return 1
	}
	defer func() { srv.Snapshot().Close() }() // the snapshot in force at exit, after any reload
	if *allowURLCreds {
		log.Warn("--probe.allow-url-credentials is set: usr/pwd in probe URLs are accepted; prefer an auth profile")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reloading the configuration")
				_ = srv.Reload(ctx)
			case <-ctx.Done():
				return
			}
		}
	}()

	limiter := server.NewConnLimiter(*maxConnections, log.Named("web"), srv.Registry())
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: min(10*time.Second, *readTimeout),
		ReadTimeout:       *readTimeout,
		IdleTimeout:       *readTimeout,
		WriteTimeout:      server.WriteTimeout,
		MaxHeaderBytes:    *maxHeaderBytes,
		ConnState:         limiter.ConnState,
	}
	warnIfFewFileDescriptors(log, *maxConnections)
	errc := make(chan error, 1)
	go func() {
		errc <- web.ListenAndServe(httpServer, toolkitFlags, slogFrom(log))
	}()
	log.Info("listening", zap.Strings("addresses", *toolkitFlags.WebListenAddresses), zap.String("version", version.Version), zap.Int("gomaxprocs", *maxProcs))
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server failed", zap.Error(err))
			return 1
		}
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpServer.Shutdown(shutdown)
	}
	return 0
}

// checkConfig validates a configuration and builds its providers without
// network I/O.
func checkConfig(path string, reg *secrets.Registry, log *zap.Logger) int {
	cfg, err := config.Load(path, false)
	if err == nil {
		var snap *probe.Snapshot
		snap, err = probe.Build(cfg, reg, nil, log)
		snap.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s: OK (%d auth profiles, %d targets)\n", path, len(cfg.Auths), len(cfg.Targets))
	return 0
}

// warnIfFewFileDescriptors logs when the process may run out of file
// descriptors before --web.max-connections is reached (each probe also
// holds a connection to its modem).
func warnIfFewFileDescriptors(log *zap.Logger, maxConnections int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if need := uint64(2*maxConnections + 64); uint64(lim.Cur) < need { //nolint:unconvert // int64 on FreeBSD
		log.Warn("the file descriptor limit is below what --web.max-connections and the probes' modem connections may use; raise it (ulimit -n, LimitNOFILE=) or lower --web.max-connections",
			zap.Uint64("limit", uint64(lim.Cur)), zap.Uint64("wanted", need))
	}
}

func flagGiven(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || len(a) > len(name)+3 && a[:len(name)+3] == "--"+name+"=" {
			return true
		}
	}
	return false
}

func slogFrom(log *zap.Logger) *slog.Logger {
	return slog.New(zapslog.NewHandler(log.Named("web").Core()))
}

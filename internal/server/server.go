// Package server is the exporter's HTTP face: the chi router with /probe,
// /metrics, the landing page, health and reload endpoints, and /config. It
// holds the current configuration snapshot and swaps it on reload.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// Options configure a Server.
type Options struct {
	Logger *zap.Logger
	// Registry names the provider kinds the configuration may use.
	Registry *secrets.Registry
	// Load reads the configuration (the file, or the demo's in-memory one).
	Load func() (*config.Config, error)
	// AllowURLCredentials accepts the original exporter's usr/pwd parameters.
	AllowURLCredentials bool
	// TimeoutOffset is subtracted from Prometheus' scrape timeout.
	TimeoutOffset time.Duration
	// Version is shown on the landing page and in build info.
	Version string
	// StartTimeout bounds provider start-up on load and reload.
	StartTimeout time.Duration
	// Banner is extra HTML-safe text for the landing page (demo mode).
	Banner string
	// MaxConcurrent bounds the probes in flight; past it /probe answers
	// 503 at once (0: DefaultMaxConcurrent).
	MaxConcurrent int
	// ProbeWriteTimeout bounds the writing of a probe's answer once the
	// probe is done (0: DefaultProbeWriteTimeout).
	ProbeWriteTimeout time.Duration
	// MaxPageRows and MaxSamples bound what one probe decodes and exposes
	// (see probe.Options).
	MaxPageRows, MaxSamples int
	// MaxBodyBytes bounds a modem's answer (see probe.Options).
	MaxBodyBytes int64
	// MaxModems and MaxQueuedPerModem bound the prober's per-modem state
	// and queues (0: the probe package's defaults).
	MaxModems, MaxQueuedPerModem int
}

// Server serves the exporter.
type Server struct {
	opts    Options
	log     *zap.Logger
	prober  *probe.Prober
	metrics *prometheus.Registry
	secrets *credcache.Metrics
	// providerParams are the probe parameters passed on to providers:
	// those the registered kinds declare.
	providerParams []string
	current        atomic.Pointer[probe.Snapshot]
	formats        formatMemory
	ready          atomic.Bool
	reloadMu       sync.Mutex

	reloadOK        prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	refused         *prometheus.CounterVec
	crossSite       *crossSiteGuard
	// answers recycles the buffers probe answers are assembled in.
	answers answerBuffers
	// admit bounds the probes in flight; unsent counts answers not
	// written in full.
	admit  *admission
	unsent prometheus.Counter
	// modems holds each recently probed modem's last probe for /modem.
	modems *modemStore
}

// New builds a server and loads the configuration once. An invalid
// configuration is an error: the exporter does not start on one.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.ProbeWriteTimeout <= 0 {
		o.ProbeWriteTimeout = DefaultProbeWriteTimeout
	}
	if o.Registry == nil {
		return nil, errors.New("no provider registry: pass at least an empty secrets.Registry")
	}
	params, err := providerParams(o.Registry)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	s := &Server{opts: o, log: o.Logger, metrics: reg, providerParams: params}
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hitron_exporter_config_last_reload_successful",
		Help: "Whether the last configuration load succeeded.",
	})
	s.reloadTimestamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hitron_exporter_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully.",
	})
	s.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hitron_exporter_probe_requests_refused_total",
		Help: "Probe requests answered 400 before anything was fetched (unknown auth, unpinned target, bad parameters).",
	}, []string{"reason"})
	// Prometheus' build_info: version, revision, branch, goversion, goos,
	// goarch and tags from prometheus/common/version (stamped by -ldflags),
	// plus the build date.
	buildInfo := versioncollector.NewCollector("hitron_exporter", versioncollector.WithExtraConstLabels(
		prometheus.Labels{"version": o.Version, "builddate": version.BuildDate}))
	reg.MustRegister(s.reloadOK, s.reloadTimestamp, s.refused, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		providerCollector{s})
	s.secrets = credcache.NewMetrics(reg)
	s.crossSite = newCrossSiteGuard(o.Logger, reg)
	s.admit = newAdmission(o.MaxConcurrent, reg, o.Logger)
	s.unsent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hitron_exporter_probe_answers_unsent_total",
		Help: "Probe answers not written in full: the client went away or did not read within --web.probe-write-timeout.",
	})
	reg.MustRegister(s.unsent)
	s.prober = probe.New(probe.Options{Logger: o.Logger.Named("probe"), Registerer: reg,
		MaxModems: o.MaxModems, MaxQueued: o.MaxQueuedPerModem,
		MaxPageRows: o.MaxPageRows, MaxSamples: o.MaxSamples, MaxBodyBytes: o.MaxBodyBytes})
	s.modems = newModemStore(maxModemPages, reg)
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Registry is where the exporter's own metrics (/metrics) are registered.
func (s *Server) Registry() prometheus.Registerer { return s.metrics }

// Prober returns the server's prober.
func (s *Server) Prober() *probe.Prober { return s.prober }

// Snapshot returns the configuration in use.
func (s *Server) Snapshot() *probe.Snapshot { return s.current.Load() }

// acquireSnapshot returns the current snapshot, acquired. A snapshot is
// retired only after it was swapped out, so a failed Acquire means a newer
// one is already current: load again.
func (s *Server) acquireSnapshot() *probe.Snapshot {
	for {
		if snap := s.current.Load(); snap.Acquire() {
			return snap
		}
	}
}

// Reload loads and builds the configuration and swaps it in. On error the
// old configuration keeps serving.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	snap, err := s.build()
	if err != nil {
		s.reloadOK.Set(0)
		s.log.Error("configuration rejected; keeping the previous one", zap.Error(err))
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	startErr := snap.Start(sctx)
	old := s.current.Swap(snap)
	if old != nil {
		// Probes that started on the old configuration may still use its
		// providers: they close when the last of those probes ends.
		old.Retire()
	}
	// The operator may have fixed credentials the modems refused: ask the
	// backends again at the next probe. Refusals stay: they are keyed by the
	// credentials' fingerprint, so only the very credentials a modem refused
	// are held back, and a reload (which anyone who can reach the port, or a
	// cross-site page, might trigger) never lets them be sent again.
	s.prober.ResetBackoffs()
	s.reloadOK.Set(1)
	s.reloadTimestamp.SetToCurrentTime()
	s.ready.Store(startErr == nil)
	if startErr != nil {
		s.log.Error("a credential provider failed to start; probes using it will fail until it recovers", zap.Error(startErr))
	}
	s.log.Info("configuration loaded", zap.String("file", snap.Config.Source),
		zap.Int("auths", len(snap.Profiles)), zap.Int("targets", len(snap.Config.Targets)))
	return nil
}

func (s *Server) build() (*probe.Snapshot, error) {
	cfg, err := s.opts.Load()
	if err != nil {
		return nil, err
	}
	return probe.Build(cfg, s.opts.Registry, s.secrets, s.log)
}

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, securityHeaders)
	r.Get("/", s.handleLanding)
	r.Method(http.MethodGet, "/probe", s.crossSite.Get("/probe", http.HandlerFunc(s.handleProbe)))
	r.Get("/probes/{id}", s.handleProbeTrace)
	r.Get("/modem", s.handleModem)
	r.Method(http.MethodPost, "/modem", s.crossSite.Post("/modem", http.HandlerFunc(s.handleModemProbe)))
	r.Get("/config", s.handleConfig)
	r.Get("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("Healthy\n")) })
	r.Get("/-/ready", s.handleReady)
	r.Method(http.MethodPost, "/-/reload", s.crossSite.Post("/-/reload", http.HandlerFunc(s.handleReload)))
	r.Handle("/metrics", promhttp.InstrumentMetricHandler(s.metrics, promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})))
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return r
}

// recoverer turns a panic in a handler into a 500 and a log line, so that
// one bad request never takes the exporter down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", zap.String("path", r.URL.Path), zap.Any("panic", fmt.Sprint(v)))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	snap := s.current.Load()
	if snap == nil || !s.ready.Load() && !snap.Ready() {
		http.Error(w, "not ready: a credential provider has not started", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("Ready\n"))
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.Reload(r.Context()); err != nil {
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("Reloaded\n"))
}

// providerCollector forwards the metrics of the current providers that
// have any (secrets.Collector: token and ticket expiry, request counts).
type providerCollector struct{ s *Server }

func (providerCollector) Describe(chan<- *prometheus.Desc) {}

func (p providerCollector) Collect(ch chan<- prometheus.Metric) {
	snap := p.s.current.Load()
	if snap == nil {
		return
	}
	for _, prov := range snap.Providers() {
		if c, ok := prov.(secrets.Collector); ok {
			c.Collect(ch)
		}
	}
}

// parseBool accepts the spellings a query string may use.
func parseBool(s string) (bool, error) {
	switch s {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errors.New("want 0 or 1")
	}
	return b, nil
}

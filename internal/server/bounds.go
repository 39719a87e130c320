package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults of the bounds on probe requests.
const (
	// DefaultMaxConcurrent probes in flight: 10,000 modems every 60 s are
	// 167 probes a second; a probe is twelve requests to the modem, at
	// realistic latency (30 to 300 ms each) up to 3.6 s, so up to 600 are
	// in flight. 1024 leaves 70 % headroom, and costs two file
	// descriptors a probe (Prometheus' connection and the modem's).
	DefaultMaxConcurrent = 1024
	// DefaultProbeWriteTimeout is how long a probe's answer may take to be
	// written once the probe is done. The answer is at most a few MB (see
	// --probe.max-samples); a reader that takes longer is not Prometheus,
	// which gives up at its scrape timeout anyway.
	DefaultProbeWriteTimeout = 10 * time.Second
)

// rejectLogEvery spaces the log lines of rejected probes: a flood of
// requests makes one line per interval, with the count.
const rejectLogEvery = 10 * time.Second

// admission bounds the probes in flight: past the bound a probe request is
// answered 503 at once, counted and (rate-limited) logged.
type admission struct {
	slots    chan struct{}
	rejected *prometheus.CounterVec
	log      *zap.Logger

	mu       sync.Mutex
	lastLog  time.Time
	unlogged int
}

func newAdmission(limit int, reg prometheus.Registerer, log *zap.Logger) *admission {
	if limit <= 0 {
		limit = DefaultMaxConcurrent
	}
	a := &admission{
		slots: make(chan struct{}, limit),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_probes_rejected_total",
			Help: "Probe requests answered 503 before anything was done, by reason (concurrency: --probe.max-concurrent probes were in flight).",
		}, []string{"reason"}),
		log: log,
	}
	a.rejected.WithLabelValues("concurrency")
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hitron_exporter_probes_in_flight",
		Help: "Probe requests being run or answered (at most --probe.max-concurrent).",
	}, func() float64 { return float64(len(a.slots)) })
	reg.MustRegister(a.rejected, inFlight)
	return a
}

// admit takes a slot, or answers 503 and returns false. A slot taken must
// be given back with done.
func (a *admission) admit(w http.ResponseWriter) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	a.rejected.WithLabelValues("concurrency").Inc()
	a.logRejected()
	w.Header().Set("Retry-After", "1")
	http.Error(w, "too many probes in flight (--probe.max-concurrent); try again later", http.StatusServiceUnavailable)
	return false
}

// done gives a slot back.
func (a *admission) done() { <-a.slots }

func (a *admission) logRejected() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unlogged++
	now := time.Now()
	if now.Sub(a.lastLog) < rejectLogEvery {
		return
	}
	a.log.Warn("probe requests refused with 503: --probe.max-concurrent probes are in flight",
		zap.Int("limit", cap(a.slots)), zap.Int("refused_since_last_line", a.unlogged))
	a.lastLog, a.unlogged = now, 0
}

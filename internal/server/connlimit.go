package server

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ConnLimiter caps the HTTP connections open at once across all
// listeners (--web.max-connections). It hooks http.Server.ConnState, so
// it works under exporter-toolkit's TLS and systemd socket activation.
// When a new connection would exceed the cap, the connection idle longest
// (a kept-alive one between requests, or one that has sent nothing for
// newGrace) is closed to make room: a flood of idle connections then
// costs its sender its own connections, not Prometheus its scrapes. Only
// when none is idle is the new one closed.
type ConnLimiter struct {
	max int
	log *zap.Logger

	mu   sync.Mutex
	open map[net.Conn]*connInfo

	openGauge prometheus.GaugeFunc
	closed    *prometheus.CounterVec
}

type connInfo struct {
	// idleSince is when the connection went idle or, for a new one, was
	// accepted; zero while a request is being served.
	idleSince time.Time
}

// newGrace is how long a new connection may send nothing before it counts
// as idle: a real client sends its request at once.
const newGrace = time.Second

// NewConnLimiter returns a limiter of max connections (0: no limit)
// whose metrics go to reg.
func NewConnLimiter(max int, log *zap.Logger, reg prometheus.Registerer) *ConnLimiter {
	l := &ConnLimiter{max: max, log: log, open: map[net.Conn]*connInfo{}}
	l.openGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hitron_exporter_http_connections_open",
		Help: "HTTP connections open to the exporter.",
	}, func() float64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return float64(len(l.open))
	})
	l.closed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hitron_exporter_http_connections_limited_total",
		Help: "Connections closed because --web.max-connections was reached: the longest idle one to make room (state=idle), or the new one when none was idle (state=new).",
	}, []string{"state"})
	reg.MustRegister(l.openGauge, l.closed)
	return l
}

// ConnState is the http.Server.ConnState hook.
func (l *ConnLimiter) ConnState(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	switch state {
	case http.StateNew:
		if l.max > 0 && len(l.open) >= l.max {
			victim := l.longestIdleLocked()
			if victim == nil {
				l.mu.Unlock()
				l.closed.WithLabelValues("new").Inc()
				l.log.Debug("connection limit reached and no connection idle: closing the new one", zap.Int("max_connections", l.max))
				_ = c.Close()
				return
			}
			delete(l.open, victim)
			l.closed.WithLabelValues("idle").Inc()
			defer func() { _ = victim.Close() }()
		}
		l.open[c] = &connInfo{idleSince: time.Now().Add(newGrace)}
	case http.StateIdle:
		if ci, ok := l.open[c]; ok {
			ci.idleSince = time.Now()
		}
	case http.StateActive:
		if ci, ok := l.open[c]; ok {
			ci.idleSince = time.Time{}
		}
	case http.StateClosed, http.StateHijacked:
		delete(l.open, c)
	}
	l.mu.Unlock()
}

// longestIdleLocked returns the connection idle the longest, or nil.
func (l *ConnLimiter) longestIdleLocked() net.Conn {
	var victim net.Conn
	since := time.Now()
	for c, ci := range l.open {
		if !ci.idleSince.IsZero() && ci.idleSince.Before(since) {
			victim, since = c, ci.idleSince
		}
	}
	return victim
}

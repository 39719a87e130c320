package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

// Failure reasons (the reason label of hitron_probe_failure_info and
// hitron_exporter_probes_total).
const (
	ReasonBadCredentials = "bad_credentials"
	ReasonSessionBusy    = "session_busy"
	ReasonLockedOut      = "locked_out"
	ReasonPinMismatch    = "pin_mismatch"
	ReasonTLS            = "tls"
	ReasonConnect        = "connect"
	ReasonTimeout        = "timeout"
	ReasonHTTPStatus     = "http_status"
	ReasonBadResponse    = "bad_response"
	ReasonNotLoggedIn    = "not_logged_in"
	ReasonCredentials    = "credentials"
	ReasonBackoff        = "backoff"
)

// Backoff bounds for a target whose credentials the modem rejected twice.
const (
	minBackoff = time.Minute
	maxBackoff = time.Hour
)

// Options configure a Prober.
type Options struct {
	Logger *zap.Logger
	// Registerer receives the prober's own metrics (nil: not registered).
	Registerer prometheus.Registerer
	// HistoryLimit is how many recent probes are kept for the landing page.
	HistoryLimit int
	// MaxBodyBytes bounds modem responses (0: hitron.DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Prober runs probes. It outlives configuration reloads: per-device state
// (serialisation, lock-out, back-off) is kept across them.
type Prober struct {
	log     *zap.Logger
	now     func() time.Time
	maxBody int64
	metrics *proberMetrics
	history *History

	mu      sync.Mutex
	devices map[string]*device
	lookups int
}

// Idle device state is dropped so that probes of ever-new targets (a
// hostile query loop) cannot grow memory without bound.
const (
	deviceIdleAfter  = 2 * time.Hour
	deviceSweepEvery = 1024
	// maxDevices caps the state kept; past it the least recently used idle
	// modems are forgotten first.
	maxDevices = 4096
)

// New returns a prober.
func New(o Options) *Prober {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 100
	}
	return &Prober{
		log: o.Logger, now: o.Now, maxBody: o.MaxBodyBytes,
		metrics: newProberMetrics(o.Registerer), history: NewHistory(o.HistoryLimit),
		devices: map[string]*device{},
	}
}

// sweepLocked drops devices unused for deviceIdleAfter that hold no
// lock-out, back-off or session; p.mu is held.
func (p *Prober) sweepLocked(now time.Time) {
	for key, d := range p.devices {
		if now.Sub(d.lastUsed) < deviceIdleAfter || len(d.turn) > 0 {
			continue
		}
		d.mu.Lock()
		keep := now.Before(d.lockedUntil) || d.hasRefusals(now)
		d.mu.Unlock()
		if !keep {
			delete(p.devices, key)
			d.forgotten()
		}
	}
}

// evictLocked forgets the least recently used idle devices until a quarter
// of maxDevices is free; p.mu is held. Devices with a probe in progress, a
// lock-out or refused credentials are kept.
func (p *Prober) evictLocked(now time.Time) {
	type candidate struct {
		key  string
		used time.Time
	}
	var idle []candidate
	for key, d := range p.devices {
		d.mu.Lock()
		busy := len(d.flights) > 0 || len(d.turn) > 0 || now.Before(d.lockedUntil) || d.hasRefusals(now)
		d.mu.Unlock()
		if !busy {
			idle = append(idle, candidate{key, d.lastUsed})
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].used.Before(idle[j].used) })
	for _, c := range idle {
		if len(p.devices) <= maxDevices*3/4 {
			return
		}
		p.devices[c.key].forgotten()
		delete(p.devices, c.key)
	}
	// Still full: modems holding refusals or lock-outs (which any TLS
	// server answering "Wrong Credentials." can create) go too, oldest
	// first, as long as no probe of them is running.
	var held []candidate
	for key, d := range p.devices {
		d.mu.Lock()
		running := len(d.flights) > 0 || len(d.turn) > 0
		d.mu.Unlock()
		if !running {
			held = append(held, candidate{key, d.lastUsed})
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].used.Before(held[j].used) })
	for _, c := range held {
		if len(p.devices) < maxDevices {
			return
		}
		p.devices[c.key].forgotten()
		delete(p.devices, c.key)
	}
}

// ForgetRefusals clears every modem's refused credentials and back-off, for
// a configuration reload: the operator may have fixed the credentials.
func (p *Prober) ForgetRefusals() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.devices {
		d.forgetRefusals()
	}
}

// Devices returns how many modems the prober keeps state for.
func (p *Prober) Devices() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.devices)
}

// History returns the recent-probes log.
func (p *Prober) History() *History { return p.history }

func (p *Prober) device(key string) *device {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.lookups++; p.lookups%deviceSweepEvery == 0 {
		p.sweepLocked(now)
	}
	d, ok := p.devices[key]
	defer func() { d.lastUsed = now }()
	if !ok && len(p.devices) >= maxDevices {
		p.evictLocked(now)
	}
	if !ok {
		d = newDevice(key, p.metrics)
		p.devices[key] = d
	}
	return d
}

// Result is the outcome of one probe. It is immutable and may be shared by
// concurrent identical probes.
type Result struct {
	// Metrics gathers the probe's metrics (for promhttp.HandlerFor).
	Metrics  prometheus.Gatherer
	Success  bool
	Reason   string
	Err      error
	Duration time.Duration
	Trace    *Trace
	Started  time.Time
	// Shared is true for callers that joined another caller's probe.
	Shared bool

	plan *Plan
}

// maxQueued bounds the distinct probes that may wait for one modem; more
// are refused at once instead of piling up behind its single session.
const maxQueued = 8

// flight is one run of a plan that identical concurrent probes share.
type flight struct {
	done     chan struct{}
	result   *Result
	waiters  int
	started  bool // the run holds the modem's session slot
	cancel   context.CancelFunc
	deadline time.Time
}

// Probe runs plan. Concurrent identical plans share one modem session and
// one result; different plans for the same modem wait their turn. A run
// that has not reached the modem yet is cancelled when every caller waiting
// for it has gone; once it holds the session it finishes (and logs out)
// even if they have.
func (p *Prober) Probe(ctx context.Context, plan *Plan) *Result {
	dev := p.device(plan.StateKey)
	deadline := time.Now().Add(plan.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dev.mu.Lock()
	f, shared := dev.flights[plan.Key]
	if shared && f.deadline.Before(deadline.Add(-time.Second)) {
		// The run in progress ends well before this caller's budget (a
		// shorter scrape timeout): run again rather than inherit it.
		shared = false
	}
	if !shared {
		if len(dev.flights) >= maxQueued {
			dev.mu.Unlock()
			return p.failedEarly(plan, dev, ReasonTimeout, fmt.Errorf("%d other probes of this modem are queued; not queuing more", maxQueued), true)
		}
		rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		f = &flight{done: make(chan struct{}), cancel: cancel, deadline: deadline}
		dev.flights[plan.Key] = f
		go func() {
			defer cancel()
			f.result = p.run(rctx, plan, dev, f)
			dev.mu.Lock()
			if dev.flights[plan.Key] == f {
				delete(dev.flights, plan.Key)
			}
			dev.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	dev.mu.Unlock()

	select {
	case <-f.done:
		if shared {
			cp := *f.result
			cp.Shared = true
			return &cp
		}
		return f.result
	case <-ctx.Done():
		dev.mu.Lock()
		f.waiters--
		if f.waiters == 0 && !f.started {
			// Nobody wants it and it has not reached the modem.
			f.cancel()
			if dev.flights[plan.Key] == f {
				delete(dev.flights, plan.Key)
			}
		}
		dev.mu.Unlock()
		// Not counted: the run itself is, when it ends.
		return p.failedEarly(plan, dev, ReasonTimeout, fmt.Errorf("probe abandoned: %w", ctx.Err()), false)
	}
}

// failedEarly builds a result for a probe that never reached the modem;
// count says whether it goes into the metrics and the log.
func (p *Prober) failedEarly(plan *Plan, dev *device, reason string, err error, count bool) *Result {
	pr := newProbeRun(p, plan, dev)
	pr.quiet = !count
	pr.fail(reason, err)
	return pr.finish()
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

// serverName returns host for SNI unless it is an IP address.
func serverName(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}

// classify maps an error to a failure reason.
func classify(err error) string {
	var locked *hitron.LockedOutError
	var status *hitron.StatusError
	var netErr net.Error
	var opErr *net.OpError
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, pin.ErrMismatch):
		return ReasonPinMismatch
	case errors.Is(err, hitron.ErrBadCredentials):
		return ReasonBadCredentials
	case errors.Is(err, hitron.ErrSessionBusy):
		return ReasonSessionBusy
	case errors.As(err, &locked):
		return ReasonLockedOut
	case errors.Is(err, hitron.ErrNotLoggedIn):
		return ReasonNotLoggedIn
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ReasonTimeout
	case errors.As(err, &status):
		return ReasonHTTPStatus
	case errors.Is(err, hitron.ErrBadResponse), errors.Is(err, hitron.ErrTooLarge), errors.Is(err, hitron.ErrNotJSON):
		return ReasonBadResponse
	case errors.As(err, &alert), errors.As(err, &recordErr), errors.Is(err, hitron.ErrTLSHandshake):
		return ReasonTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return ReasonConnect
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return ReasonTLS
	}
	if msg := err.Error(); containsAny(msg, "tls:", "handshake", "x509") {
		return ReasonTLS
	}
	return ReasonBadResponse
}

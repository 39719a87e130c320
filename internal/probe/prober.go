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

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
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
	// ReasonTooManyModems: the table of per-modem state is full of modems
	// whose state protects them (refusals, lock-outs, back-offs, probes in
	// progress), so an unknown target gets no state and is not probed.
	ReasonTooManyModems = "too_many_modems"
	// ReasonTooLarge: the modem's answer went past a bound: a body or
	// headers over the size limit, a page of more rows than
	// Options.MaxPageRows, or more samples than Options.MaxSamples.
	ReasonTooLarge = "too_large"
	// ReasonModemError: the modem answered a REST request with an errCode
	// other than 000 that means neither a wrong password, a busy session
	// nor a lost one (the request failed on the modem; the answer parsed).
	ReasonModemError = "modem_error"
)

// Defaults of the bounds on what one probe takes from a modem.
const (
	// DefaultMaxPageRows: a real page lists a few dozen channels or at
	// most a few hundred LAN clients.
	DefaultMaxPageRows = hitron.DefaultMaxPageRows
	// DefaultMaxSamples: a real probe has a few hundred samples (345 for
	// the CODA-45 data set: 31 downstream channels and OFDM).
	DefaultMaxSamples = 10000
	// DefaultMaxBodyBytes bounds a modem's answer: the largest real page
	// (a CODA-45's 32-channel dsinfo) is under 6 KB.
	DefaultMaxBodyBytes = 1 << 20
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
	// MaxBodyBytes bounds modem responses (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxPageRows bounds the rows of one data page (0: DefaultMaxPageRows).
	MaxPageRows int
	// MaxSamples bounds the modem's samples in one probe (0:
	// DefaultMaxSamples).
	MaxSamples int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// MaxModems caps the modems whose state is kept (0: DefaultMaxModems).
	// State that protects a modem (refused credentials, a lock-out, a
	// back-off, a session to log out, a probe in progress) is never evicted
	// to make room: when the table is full of it, a probe of a target not
	// listed under targets: fails with ReasonTooManyModems. Listed targets
	// always get their state.
	MaxModems int
	// MaxQueued caps the runs per modem, the one holding its session and
	// those waiting, replaced ones included (0: DefaultMaxQueued).
	MaxQueued int
}

// Defaults of the prober's bounds.
const (
	// DefaultMaxModems fits a fleet of 10,000 modems with room to spare;
	// an entry takes a few kilobytes.
	DefaultMaxModems = 16384
	// DefaultMaxQueued: one modem answers one session at a time; more
	// waiting probes than this only wait out their budgets.
	DefaultMaxQueued = 8
)

// Prober runs probes. It outlives configuration reloads: per-device state
// (serialisation, lock-out, back-off) is kept across them.
type Prober struct {
	log        *zap.Logger
	now        func() time.Time
	maxBody    int64
	maxDevices int
	maxQueued  int
	// maxRows and maxSamples bound what one probe decodes and exposes.
	maxRows, maxSamples int
	metrics             *proberMetrics
	history             *History
	// runners runs the probes, on goroutines kept between them.
	runners *runners
	// dialectByName resolves a configured dialect: hitron.DialectByName.
	// It is the seam the package's tests use to put a scripted fake modem
	// session (a hitron.Dialect that answers without I/O) in its place.
	dialectByName func(name, passwordField string) (hitron.Dialect, error)

	mu      sync.Mutex
	devices map[string]*device
	lookups int
}

// Idle device state is dropped so that probes of ever-new targets (a
// hostile query loop) cannot grow memory without bound.
const (
	deviceIdleAfter  = 2 * time.Hour
	deviceSweepEvery = 1024
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
	if o.MaxModems <= 0 {
		o.MaxModems = DefaultMaxModems
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxPageRows <= 0 {
		o.MaxPageRows = DefaultMaxPageRows
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Prober{
		log: o.Logger, now: o.Now, maxBody: o.MaxBodyBytes, maxDevices: o.MaxModems, maxQueued: o.MaxQueued,
		maxRows: o.MaxPageRows, maxSamples: o.MaxSamples,
		metrics: newProberMetrics(o.Registerer), history: NewHistory(o.HistoryLimit),
		devices: map[string]*device{}, dialectByName: hitron.DialectByName, runners: newRunners(runnerIdle),
	}
}

// sweepLocked drops devices unused for deviceIdleAfter whose state no
// longer protects them; p.mu is held.
func (p *Prober) sweepLocked(now time.Time) {
	for key, d := range p.devices {
		if now.Sub(d.lastUsed) < deviceIdleAfter || len(d.turn) > 0 {
			continue
		}
		d.mu.Lock()
		keep := d.protectsLocked(now) || d.runs > 0
		d.mu.Unlock()
		if !keep {
			delete(p.devices, key)
			d.forgotten()
		}
	}
}

// evictLocked forgets the least recently used devices whose state does
// not protect them until a quarter of the table is free; p.mu is held.
// Devices with a probe in progress or protective state are never evicted:
// anyone can make a TLS server answer "Wrong Credentials." at thousands of
// addresses, and evicting a real modem's refusals to make room for them
// would let the next probe send it a refused password again.
func (p *Prober) evictLocked(now time.Time) {
	type candidate struct {
		key  string
		used time.Time
	}
	var idle []candidate
	for key, d := range p.devices {
		d.mu.Lock()
		keep := d.runs > 0 || len(d.turn) > 0 || d.protectsLocked(now)
		d.mu.Unlock()
		if !keep {
			idle = append(idle, candidate{key, d.lastUsed})
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].used.Before(idle[j].used) })
	for _, c := range idle {
		if len(p.devices) <= p.maxDevices*3/4 {
			return
		}
		p.devices[c.key].forgotten()
		delete(p.devices, c.key)
	}
}

// ResetBackoffs ends every modem's back-off, for a configuration reload:
// the next probe asks the credential backend again at once, in case the
// operator fixed the credentials. Refusals are kept: they are keyed by the
// credentials' fingerprint, so fixed credentials are not refused, and the
// refused ones are still never sent again while the refusal holds.
func (p *Prober) ResetBackoffs() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.devices {
		d.resetBackoff()
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

// device returns the state of the modem at key, making room for it if
// need be; it always succeeds (for targets listed under targets:).
func (p *Prober) device(key string) *device {
	d, _ := p.admit(key, true)
	return d
}

// admit returns the state of the modem at key. A modem without state gets
// it when the table has room or room can be made by evicting unprotected
// state; otherwise only when always is set (ok false means no state).
func (p *Prober) admit(key string, always bool) (d *device, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.lookups++; p.lookups%deviceSweepEvery == 0 {
		p.sweepLocked(now)
	}
	d, ok = p.devices[key]
	if !ok {
		if len(p.devices) >= p.maxDevices {
			p.evictLocked(now)
		}
		if len(p.devices) >= p.maxDevices && !always {
			return nil, false
		}
		d = newDevice(key, p.metrics)
		p.devices[key] = d
	}
	d.lastUsed = now
	return d, true
}

// Result is the outcome of one probe. It is immutable and may be shared by
// concurrent identical probes.
type Result struct {
	// Metrics holds the probe's metrics: AppendText writes their text
	// exposition, Gather serves promhttp.HandlerFor.
	Metrics  *collector.Set
	Success  bool
	Reason   string
	Err      error
	Duration time.Duration
	Trace    *Trace
	Started  time.Time
	// Data is what the modem's pages parsed into (nil when the probe read
	// none). It is shared and must not be modified.
	Data *hitron.Data
	// Shared is true for callers that joined another caller's probe.
	Shared bool

	plan *Plan
}

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
	dev, ok := p.admit(plan.StateKey, plan.Configured)
	if !ok {
		return p.failedEarly(plan, nil, ReasonTooManyModems, fmt.Errorf("the exporter keeps state for %d modems and every entry protects its modem "+
			"(refused credentials, a lock-out, a back-off or a probe in progress): not probing an unknown target; list it under targets: "+
			"or raise --probe.max-modems", p.maxDevices), true)
	}
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
		// Every run counts, also one this flight replaces below: it still
		// waits for (or holds) the modem's session.
		if dev.runs >= p.maxQueued {
			dev.mu.Unlock()
			return p.failedEarly(plan, dev, ReasonTimeout, fmt.Errorf("%d probes of this modem are running or queued; not queuing more (--probe.max-queue)", p.maxQueued), true)
		}
		dev.runs++
		// The run is shared by every caller that joins it, so it carries
		// none of this caller's values (nor its cancellation): a context of
		// its own, whose short chain net/http walks on every request for
		// its trace hooks.
		rctx, cancel := context.WithDeadline(context.Background(), deadline)
		f = &flight{done: make(chan struct{}), cancel: cancel, deadline: deadline}
		dev.flights[plan.Key] = f
		p.runners.run(func() {
			defer cancel()
			f.result = p.run(rctx, plan, dev, f)
			dev.mu.Lock()
			dev.runs--
			if dev.flights[plan.Key] == f {
				delete(dev.flights, plan.Key)
			}
			dev.mu.Unlock()
			close(f.done)
		})
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
	case errors.Is(err, hitron.ErrRESTFailure):
		return ReasonModemError
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, errNoTimeToLogin):
		return ReasonTimeout
	case errors.As(err, &status):
		return ReasonHTTPStatus
	case errors.Is(err, hitron.ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, hitron.ErrBadResponse), errors.Is(err, hitron.ErrNotJSON):
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

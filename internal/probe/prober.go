package probe

import (
	"context"
	"crypto/sha256"
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
	"github.com/hitron-exporter/hitron-exporter/secrets"
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

// device is the state kept per modem.
type device struct {
	// turn admits one session at a time: the modem has one session slot
	// and a serial web server.
	turn chan struct{}
	// flights are the runs in progress or queued, by plan key (guarded by mu).
	flights map[string]*flight
	// runs counts the runs that exist for this modem, including those a
	// later flight replaced in flights (guarded by mu).
	runs int

	mu sync.Mutex
	// lockedUntil: the modem answered LoginProtect; nothing is sent before.
	lockedUntil time.Time
	// refused holds fingerprints (SHA-256) of credentials this modem
	// refused, whatever profile or source they came from: they are never
	// sent to it again. backoffUntil is when the backend is asked again.
	refused      map[[32]byte]time.Time
	backoffUntil time.Time
	backoffLevel int
	// unsupported pages (404) are skipped until the time noted.
	unsupported map[hitron.Dataset]time.Time
	// sessions resumes TLS sessions with the modem across probes.
	sessions tls.ClientSessionCache
	// tls12Until: until then, offer the modem TLS 1.2 at most, because a
	// handshake authenticated by the pin chose TLS 1.2 (the first probe
	// after it offers TLS 1.3 again, so a firmware update is noticed).
	tls12Until time.Time
	// stale is a session whose logout failed. Its cookies identify it, so
	// the next probe logs it out first instead of meeting Repeat Login;
	// nobody else's session is ever forced out implicitly.
	stale *hitron.Session
	// everAccepted holds fingerprints of credentials the modem accepted.
	everAccepted map[[32]byte]bool
	// uncertainLevel counts lost login answers since the last success.
	uncertainLevel int
	// loginTakes and logoutTakes estimate how long the modem takes to
	// answer a login and a logout: no login starts with less time left
	// than both need.
	loginTakes, logoutTakes time.Duration
	// lastUsed is guarded by Prober.mu.
	lastUsed time.Time
}

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
		devices: map[string]*device{},
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
			p.metrics.setBackoff(key, false)
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
		delete(p.devices, c.key)
		p.metrics.setBackoff(c.key, false)
	}
}

// protectsLocked reports whether the device holds state that keeps the
// modem safe (refusals, a lock-out, a back-off, a session to log out);
// d.mu is held.
func (d *device) protectsLocked(now time.Time) bool {
	return now.Before(d.lockedUntil) || d.hasRefusals(now) || now.Before(d.backoffUntil) || d.stale != nil
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
		d.mu.Lock()
		d.backoffLevel, d.backoffUntil = 0, time.Time{}
		d.mu.Unlock()
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
		d = &device{turn: make(chan struct{}, 1), unsupported: map[hitron.Dataset]time.Time{}, sessions: tls.NewLRUClientSessionCache(4),
			refused: map[[32]byte]time.Time{}, flights: map[string]*flight{}, everAccepted: map[[32]byte]bool{},
			loginTakes: defaultExchangeTakes, logoutTakes: defaultExchangeTakes}
		p.devices[key] = d
	}
	d.lastUsed = now
	return d, true
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
		return p.failedEarly(plan, ReasonTooManyModems, fmt.Errorf("the exporter keeps state for %d modems and every entry protects its modem "+
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
			return p.failedEarly(plan, ReasonTimeout, fmt.Errorf("%d probes of this modem are running or queued; not queuing more (--probe.max-queue)", p.maxQueued), true)
		}
		dev.runs++
		rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		f = &flight{done: make(chan struct{}), cancel: cancel, deadline: deadline}
		dev.flights[plan.Key] = f
		go func() {
			defer cancel()
			f.result = p.run(rctx, plan, dev, f)
			dev.mu.Lock()
			dev.runs--
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
		return p.failedEarly(plan, ReasonTimeout, fmt.Errorf("probe abandoned: %w", ctx.Err()), false)
	}
}

// failedEarly builds a result for a probe that never reached the modem;
// count says whether it goes into the metrics and the log.
func (p *Prober) failedEarly(plan *Plan, reason string, err error, count bool) *Result {
	pr := newProbeRun(p, plan)
	pr.quiet = !count
	pr.fail(reason, err)
	return pr.finish()
}

func (p *Prober) run(ctx context.Context, plan *Plan, dev *device, f *flight) *Result {
	pr := newProbeRun(p, plan)
	defer func() { p.history.Add(pr.result) }()

	// Wait for the modem's single session slot.
	waitStart := time.Now()
	select {
	case dev.turn <- struct{}{}:
		defer func() { <-dev.turn }()
		dev.mu.Lock()
		f.started = true
		dev.mu.Unlock()
	case <-ctx.Done():
		pr.fail(ReasonTimeout, fmt.Errorf("waiting for another probe of this modem: %w", ctx.Err()))
		return pr.finish()
	}
	pr.trace.Addf("waited %s for the modem's session slot", time.Since(waitStart).Round(time.Millisecond))
	if err := ctx.Err(); err != nil { // cancelled while the slot came free
		pr.fail(ReasonTimeout, fmt.Errorf("probe abandoned: %w", err))
		return pr.finish()
	}

	if until := dev.locked(p.now()); !until.IsZero() {
		pr.fail(ReasonLockedOut, fmt.Errorf("modem locked out logins (LoginProtect) until %s; not trying before", until.UTC().Format(time.RFC3339)))
		return pr.finish()
	}

	creds, lookup, err := pr.credentials(ctx, false)
	if err != nil {
		return pr.finish()
	}
	if dev.isRefused(creds, p.now()) {
		// Ask the backend again once the back-off expired: a rotated
		// password ends the back-off.
		if dev.backoffExpired(p.now()) && plan.Profile != nil {
			plan.Profile.Cache.Invalidate(lookup.Location, creds)
			if creds, lookup, err = pr.credentials(ctx, true); err != nil {
				pr.fail(ReasonCredentials, err)
				return pr.finish()
			}
		}
		if dev.isRefused(creds, p.now()) {
			dev.extendBackoff(p.now())
			p.metrics.setBackoff(plan.StateKey, true)
			pr.fail(ReasonBackoff, errors.New("the modem refused these credentials before; not sending them again until they change"))
			return pr.finish()
		}
	}

	// TLS 1.2 at most for a modem known to choose it, unless the target
	// asks for more; only a probe that offered TLS 1.3 learns the version.
	maxTLS := dev.maxTLSVersion(p.now())
	if plan.TLS.MinVersionID > tls.VersionTLS12 {
		maxTLS = 0
	}
	client, err := hitron.New(hitron.Options{
		BaseURL:      plan.Target.URL(),
		DialAddress:  plan.Address,
		MaxBodyBytes: p.maxBody,
		TLS: pin.ClientConfig(pin.Options{
			Pin: plan.Pin, MinVersion: plan.TLS.MinVersionID, ExtraCipherSuites: plan.TLS.CipherIDs,
			ServerName: serverName(plan.Target.Host), Observe: pr.observeTLS, SessionCache: dev.sessions,
			MaxVersion: maxTLS,
		}),
		Trace: pr.httpTrace,
	})
	if err != nil {
		pr.fail(ReasonConnect, err)
		return pr.finish()
	}
	defer client.Close()

	// Keep time for the logout: the session must be freed even when the
	// modem was slow.
	logoutReserve := min(3*time.Second, time.Until(deadlineOf(ctx))/4)
	work, cancelWork := context.WithDeadline(ctx, deadlineOf(ctx).Add(-logoutReserve))
	defer cancelWork()

	pr.deadline = deadlineOf(ctx)
	session, err := pr.login(work, client, creds, dev)
	if o := pr.observation(); o != nil && o.Matched && maxTLS == 0 {
		dev.noteTLSVersion(o.Version, p.now())
	}
	if errors.Is(err, hitron.ErrBadCredentials) {
		// Never again with these: recorded before anything else can fail.
		dev.refuse(creds, p.now())
		p.metrics.setBackoff(plan.StateKey, true)
		if plan.Profile != nil {
			// Maybe the password was rotated: drop the cached value, fetch
			// again, and retry once, only with credentials the modem has
			// not refused.
			plan.Profile.Cache.Invalidate(lookup.Location, creds)
			newCreds, _, ferr := pr.credentials(work, true)
			switch {
			case ferr != nil:
				pr.trace.Addf("re-fetching the credentials failed: %v", ferr)
			case dev.isRefused(newCreds, p.now()):
				pr.trace.Addf("backend returned credentials the modem refused; not retrying, backing off")
			default:
				pr.trace.Addf("backend returned new credentials; retrying the login once")
				creds = newCreds
				session, err = pr.login(work, client, creds, dev)
				if errors.Is(err, hitron.ErrBadCredentials) {
					dev.refuse(creds, p.now())
				}
			}
		}
	}
	if err != nil {
		if session != nil {
			// The login request went out but its answer was lost: the modem
			// may hold a session for us; try to free it. If these
			// credentials never worked here they may have been wrong: do
			// not send them again for a while.
			_ = session.Logout(ctx, max(logoutReserve, time.Second))
			if !dev.wasAccepted(creds) {
				dev.refuseUncertain(creds, p.now())
				p.metrics.setBackoff(plan.StateKey, true)
			}
		}
		var locked *hitron.LockedOutError
		if errors.As(err, &locked) && !dev.wasAccepted(creds) {
			// The lock-out may be these credentials' doing.
			dev.refuseUntil(creds, p.now().Add(refusalExpiry))
		}
		pr.fail(pr.reasonFor(work, err), err)
		return pr.finish()
	}
	dev.accepted(creds)
	p.metrics.setBackoff(plan.StateKey, false)

	pr.fetch(work, session, dev)

	start := time.Now()
	err = session.Logout(ctx, max(logoutReserve, time.Second))
	dev.noteLogout(time.Since(start))
	if err != nil {
		dev.keepStale(session)
		p.metrics.logouts.WithLabelValues("error").Inc()
		pr.loggedOut(false)
		pr.trace.Addf("logout failed: %v", err)
		p.log.Warn("logout failed; the modem's session may stay taken until it times out",
			zap.String("target", plan.Target.Raw), zap.Error(err))
	} else {
		p.metrics.logouts.WithLabelValues("success").Inc()
		pr.loggedOut(true)
	}
	pr.stage("logout", time.Since(start))
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

// defaultExchangeTakes is what a login or a logout is assumed to take on a
// modem not yet seen answering one; its own answers set the estimate from
// then on (a Prometheus scrape timeout of one second must still work).
const defaultExchangeTakes = 50 * time.Millisecond

// exchangeNeeds is how long a login and its logout are expected to take.
func (d *device) exchangeNeeds() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.loginTakes + d.logoutTakes
}

// noteLogin and noteLogout update the estimates: a slower answer counts
// at once, faster ones bring the estimate down gradually.
func (d *device) noteLogin(took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loginTakes = estimate(d.loginTakes, took)
}

func (d *device) noteLogout(took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logoutTakes = estimate(d.logoutTakes, took)
}

func estimate(prev, took time.Duration) time.Duration { return max(took, (3*prev+took)/4) }

// tls12Memory is how long a modem that chose TLS 1.2 is offered no more.
const tls12Memory = time.Hour

// maxTLSVersion is the highest TLS version to offer the modem (0: Go's).
func (d *device) maxTLSVersion(now time.Time) uint16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Before(d.tls12Until) {
		return tls.VersionTLS12
	}
	return 0
}

// noteTLSVersion records the version a pinned handshake negotiated.
func (d *device) noteTLSVersion(v uint16, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case v == tls.VersionTLS12 && now.After(d.tls12Until):
		d.tls12Until = now.Add(tls12Memory)
	case v > tls.VersionTLS12:
		d.tls12Until = time.Time{}
	}
}

// keepStale remembers a session whose logout failed.
func (d *device) keepStale(s *hitron.Session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stale = s
}

// takeStale returns and forgets the stale session, if any.
func (d *device) takeStale() *hitron.Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stale
	d.stale = nil
	return s
}

func (d *device) locked(now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Before(d.lockedUntil) {
		return d.lockedUntil
	}
	return time.Time{}
}

func (d *device) lockOut(until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lockedUntil = until
}

// maxRefused bounds the refused-credential fingerprints kept per modem.
const maxRefused = 16

// A refused password is not sent to the modem again for refusalExpiry (one
// try an hour is far below any lock-out threshold, and a modem whose
// password was set back to it recovers). Credentials whose login answer
// was lost, and that never worked on this modem, may have been wrong: they
// wait a back-off that doubles from minBackoff with each such loss.
const refusalExpiry = time.Hour

func fingerprint(c secrets.Credentials) [32]byte {
	return sha256.Sum256([]byte(c.Username() + "\x00" + c.Password()))
}

// isRefused reports whether the modem refused c and the refusal holds.
func (d *device) isRefused(c secrets.Credentials, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.refused[fingerprint(c)]
	return ok && now.Before(until)
}

func (d *device) wasAccepted(c secrets.Credentials) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.everAccepted[fingerprint(c)]
}

func (d *device) backoffExpired(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !now.Before(d.backoffUntil)
}

// refuse records that the modem refused c and starts the back-off.
func (d *device) refuse(c secrets.Credentials, now time.Time) {
	d.refuseUntil(c, now.Add(refusalExpiry))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backoffLevel = 0
	d.backoffUntil = now.Add(minBackoff)
}

// refuseUntil keeps c from the modem until the given time.
func (d *device) refuseUntil(c secrets.Credentials, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.refused) >= maxRefused {
		var oldest [32]byte
		first := true
		for k, t := range d.refused {
			if first || t.Before(d.refused[oldest]) {
				oldest, first = k, false
			}
		}
		delete(d.refused, oldest)
	}
	d.refused[fingerprint(c)] = until
}

// refuseUncertain holds back credentials whose login answer was lost.
func (d *device) refuseUncertain(c secrets.Credentials, now time.Time) {
	d.mu.Lock()
	d.uncertainLevel++
	wait := min(minBackoff<<min(d.uncertainLevel-1, 6), maxBackoff)
	d.mu.Unlock()
	d.refuseUntil(c, now.Add(wait))
}

// hasRefusals reports whether any refusal still holds; d.mu is held.
func (d *device) hasRefusals(now time.Time) bool {
	for _, until := range d.refused {
		if now.Before(until) {
			return true
		}
	}
	return false
}

func (d *device) extendBackoff(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Before(d.backoffUntil) {
		return
	}
	d.backoffLevel++
	wait := minBackoff << min(d.backoffLevel, 6)
	d.backoffUntil = now.Add(min(wait, maxBackoff))
}

// accepted records a successful login with c: the back-off ends. The
// fingerprints of refused credentials are kept (other than c's), so a
// source that flips back to a refused password still cannot send it.
func (d *device) accepted(c secrets.Credentials) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fp := fingerprint(c)
	delete(d.refused, fp)
	d.uncertainLevel = 0
	if len(d.everAccepted) < maxRefused {
		d.everAccepted[fp] = true
	}
	d.backoffLevel = 0
	d.backoffUntil = time.Time{}
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

package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// unsupportedRecheck is how long a page the firmware lacks (404) is skipped.
const unsupportedRecheck = time.Hour

// probeRun accumulates one probe's outcome and meta-metrics.
type probeRun struct {
	p      *Prober
	plan   *Plan
	dev    *device
	start  time.Time
	trace  *Trace
	data   hitron.Data
	result *Result

	// dialect is the login dialect in use (nil until known).
	dialect hitron.Dialect
	// opened: a session was opened, so the pages read are reported.
	opened bool
	// creds and lookup are the credentials in use (dialects that need them).
	creds  secrets.Credentials
	lookup credcache.Lookup
	// maxTLS is the highest TLS version offered (0: Go's).
	maxTLS uint16

	mu          sync.Mutex
	stages      tally[time.Duration]
	collectors  tally[bool]
	collectDur  tally[time.Duration]
	tlsObserved *pin.Observation
	reason      string
	err         error
	// deadline is when the run must have logged out.
	deadline time.Time
	// logout is the outcome of the logout after a successful login (nil
	// when the probe never logged in).
	logout *bool
	// quiet results are not counted or logged (an abandoned caller's copy).
	quiet bool
	// events are the modem's event counters after this probe's log (nil
	// when no log was read).
	events *eventlog.Snapshot
}

func newProbeRun(p *Prober, plan *Plan, dev *device) *probeRun {
	return &probeRun{
		p: p, plan: plan, dev: dev, start: time.Now(), trace: newTrace(),
	}
}

func (r *probeRun) stage(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.stages.at(name) += d
}

// stageTime is the time spent so far in a stage.
func (r *probeRun) stageTime(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, _ := r.stages.get(name)
	return d
}

// fail records the first failure.
func (r *probeRun) fail(reason string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failLocked(reason, err)
}

// failLocked is fail with r.mu held.
func (r *probeRun) failLocked(reason string, err error) {
	if r.reason == "" {
		r.reason, r.err = reason, err
	}
	r.trace.Addf("FAILED (%s): %v", reason, err)
}

// loggedOut records whether the modem accepted the logout.
func (r *probeRun) loggedOut(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logout = &ok
}

func (r *probeRun) observeTLS(o pin.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tlsObserved = &o
	r.trace.Addf("TLS: modem certificate \"%s\", SHA-256 fingerprint %s, pin %s", printable(o.Subject), o.Fingerprint, pinState(r.plan, o))
}

// observation is the TLS handshake's observation, if one was made.
func (r *probeRun) observation() *pin.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tlsObserved
}

// printable is s with control characters replaced, so that a certificate
// subject prints as the distinguished name it is (its escaping backslashes
// single, not doubled as %q would) and still cannot start a trace line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func pinState(plan *Plan, o pin.Observation) string {
	switch {
	case !plan.Pin.IsSet():
		return "not set"
	case o.Matched:
		return "matched"
	default:
		return "MISMATCH: connection aborted before anything was sent"
	}
}

func (r *probeRun) httpTrace(ev hitron.TraceEvent) {
	r.trace.AddHTTP(ev)
	if ev.Stage != "" {
		r.stage(ev.Stage, ev.Duration)
	}
}

// credentials resolves the plan's credentials, through the cache.
func (r *probeRun) credentials(ctx context.Context, refetch bool) (secrets.Credentials, credcache.Lookup, error) {
	if r.plan.Creds != nil {
		return *r.plan.Creds, credcache.Lookup{Location: "url"}, nil
	}
	start := time.Now()
	prof := r.plan.Profile
	l, err := prof.Cache.Get(ctx, secrets.Request{Target: r.plan.Target.Raw, Host: r.plan.Target.Host, Params: r.plan.Params})
	r.stage("credentials", time.Since(start))
	if err != nil {
		err = fmt.Errorf("auth profile %q (%s, %s): %w", prof.Name, prof.Auth.Provider, secrets.ReasonOf(err), err)
		if !refetch {
			r.fail(ReasonCredentials, err)
		}
		return secrets.Credentials{}, l, err
	}
	what := "credentials"
	if refetch {
		what = "re-fetched credentials"
	}
	// The trace keeps its arguments until it is read: pass the redaction,
	// not the credentials.
	r.trace.Addf("%s from profile %q (%s provider): %s, cache %s", what, prof.Name, prof.Auth.Provider, secrets.Redacted, l.Source)
	return l.Credentials, l, nil
}

// login logs in, continuing the session pre (nil: a new one), and records
// the outcome.
func (r *probeRun) login(ctx context.Context, c *hitron.Client, pre *hitron.Session, creds secrets.Credentials) (*hitron.Session, error) {
	dev := r.dev
	if stale := dev.takeStale(); stale != nil {
		// Our previous logout failed: log that session out first, by its
		// own cookies, so the login below does not meet Repeat Login.
		if err := stale.Logout(ctx, 3*time.Second); err != nil && !errors.Is(err, hitron.ErrNoLogout) {
			dev.keepStale(stale) // try again next time
			r.trace.Addf("logging out the session whose logout failed earlier: %v", err)
		} else {
			r.trace.Addf("logged out the session whose logout failed earlier")
		}
	}
	// Never start a login that cannot be answered and logged out in time:
	// a login whose answer comes too late may leave the modem's only
	// session taken.
	if left, need := time.Until(r.deadline), dev.exchangeNeeds(); left < need {
		return nil, fmt.Errorf("%w: %s left, the modem takes about %s to answer a login and a logout", errNoTimeToLogin, left.Round(time.Millisecond), need.Round(time.Millisecond))
	}
	start := time.Now()
	s, err := c.LoginIn(ctx, pre, r.dialect, hitron.Credentials{Username: creds.Username(), Password: creds.Password(), Force: r.plan.Force})
	if err == nil || errors.Is(err, hitron.ErrBadCredentials) || errors.Is(err, hitron.ErrSessionBusy) {
		took := time.Since(start)
		if pre != nil {
			// Detection made this login's first request (GET /): the
			// estimate covers the whole login flow either way.
			took += r.stageTime(hitron.StageConnect)
		}
		dev.noteLogin(took)
	}
	outcome := "success"
	if err != nil {
		outcome = classify(err)
		switch outcome {
		case ReasonBadCredentials, ReasonSessionBusy, ReasonLockedOut:
		default:
			outcome = "error"
		}
		var locked *hitron.LockedOutError
		if errors.As(err, &locked) {
			dev.lockOut(r.p.now().Add(locked.Wait))
		}
	}
	r.p.metrics.logins.WithLabelValues(outcome).Inc()
	r.trace.Addf("login as %s: %s", secrets.Redacted, outcome)
	return s, err
}

// errNoTimeToLogin: the probe's budget is too short for a login and a
// logout at the speed this modem answers them.
var errNoTimeToLogin = errors.New("not logging in")

// reasonFor classifies err, reporting a timeout whenever the probe's work
// budget is spent, whatever error the transport surfaced.
func (r *probeRun) reasonFor(work context.Context, err error) string {
	if work.Err() != nil && !errors.Is(err, hitron.ErrBadCredentials) {
		return ReasonTimeout
	}
	return classify(err)
}

// fetch reads the plan's pages one at a time and parses them.
func (r *probeRun) fetch(ctx context.Context, s *hitron.Session) {
	dev := r.dev
	for _, ds := range r.plan.Datasets {
		if dev.skip(ds, r.p.now()) {
			r.trace.AddSkipped(string(ds))
			continue
		}
		t0 := time.Now()
		body, err := s.Fetch(ctx, ds)
		took := time.Since(t0)
		if errors.Is(err, hitron.ErrNotFound) {
			dev.markUnsupported(ds, r.p.now().Add(unsupportedRecheck))
			r.trace.Addf("%s: not supported by this firmware (404)", ds)
			continue // no collector, so no collector duration
		}
		*r.collectDur.at(string(ds)) = took
		if err != nil {
			*r.collectors.at(string(ds)) = false
			r.fail(r.reasonFor(ctx, err), err)
			if errors.Is(err, hitron.ErrNotLoggedIn) || ctx.Err() != nil {
				return // the session is gone or the budget spent
			}
			continue
		}
		if err := s.Parse(&r.data, ds, body, r.p.maxRows); err != nil {
			*r.collectors.at(string(ds)) = false
			reason := ReasonBadResponse
			if errors.Is(err, hitron.ErrTooLarge) {
				reason = ReasonTooLarge
			}
			r.fail(reason, fmt.Errorf("%s: %w", ds, err))
			continue
		}
		*r.collectors.at(string(ds)) = true
		r.trace.AddParsed(string(ds), len(body))
	}
	r.trace.Addf("parsed: %d downstream, %d upstream, %d OFDM, %d OFDMA channels", len(r.data.Downstream), len(r.data.Upstream), len(r.data.OFDM), len(r.data.OFDMA))
	if l := r.data.EventLog; l != nil {
		// The log's times are the modem's wall clock, in its configured zone.
		eventlog.InLocation(l.Entries, r.plan.Location)
		forgetFutureTimes(l.Entries, r.p.now())
		snap := dev.observeEvents(l.Entries)
		r.events = &snap
		r.trace.Addf("event log: %d entries (%d unreadable rows dropped)", len(l.Entries), l.Dropped)
	}
}

// forgetFutureTimes clears event times more than a day ahead of now: a
// wrong clock, or a hostile modem's, that would otherwise pin the
// last-event gauge there for good (it only moves forward). The event still
// counts; its time is unknown.
func forgetFutureTimes(entries []eventlog.Entry, now time.Time) {
	horizon := now.Add(24 * time.Hour)
	for i := range entries {
		if entries[i].Time.After(horizon) {
			entries[i].Time = time.Time{}
		}
	}
}

var (
	successDesc   = collector.NewGauge("probe_success", "Whether the probe succeeded: logged in and read every page.")
	durationDesc  = collector.NewGauge("probe_duration_seconds", "How long the probe took.")
	timeoutDesc   = collector.NewGauge("probe_timeout_seconds", "The probe's time budget.")
	stageDesc     = collector.NewGauge("hitron_probe_stage_duration_seconds", "Time spent in each stage of the probe.", "stage")
	failureDesc   = collector.NewGauge("hitron_probe_failure_info", "Why the probe failed (value 1; present only on failure).", "reason")
	certDesc      = collector.NewGauge("hitron_tls_peer_certificate_info", "The certificate the modem presented; copy fingerprint_sha256 into the target's fingerprint.", "fingerprint_sha256", "subject")
	pinDesc       = collector.NewGauge("hitron_tls_pin_match", "Whether the modem's certificate matched the pinned fingerprint (present only when a pin was given).")
	collectorDesc = collector.NewGauge("hitron_scrape_collector_success", "Whether a data page was read and parsed.", "collector")
	collDurDesc   = collector.NewGauge("hitron_scrape_collector_duration_seconds", "Time to read a data page.", "collector")
	logoutDesc    = collector.NewGauge("hitron_probe_logout_success", "Whether the modem accepted the logout after the probe logged in (present only when it logged in); 0 means its single session may stay taken, and nobody can log in until it expires.")
	sourceDesc    = collector.NewGauge("hitron_credential_source_info", "Where the probe's credentials came from (value 1).", "source", "profile")
	dialectDesc   = collector.NewGauge("hitron_modem_dialect_info", "The modem's login dialect this probe used (value 1): cgn, open, coda-userid or rest; auto when it could not be told.", "dialect")
	insecureDesc  = collector.NewGauge("hitron_tls_insecure", "1 when the modem was reached over plain HTTP (insecure_http: nothing authenticates it), else 0.")
)

// probeStages are the stages hitron_probe_stage_duration_seconds reports,
// in order: the credential lookup, then the modem's.
var probeStages = append([]string{"credentials"}, hitron.Stages...)

// finish builds the Result: the modem's samples (bounded) and the probe's own.
func (r *probeRun) finish() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	dur := time.Since(r.start)
	// The modem's samples first, bounded: a probe over the bound keeps
	// none of them, only its own metrics, and fails too_large.
	set := collector.NewSet()
	if r.opened {
		set.SetMaxSamples(r.p.maxSamples)
		collector.New(&r.data, r.plan.Location).WithDescMemory(&r.dev.descs).AddTo(set)
		if r.events != nil {
			collector.AddEventLog(set, *r.events)
		}
		if set.Overflowed() {
			r.failLocked(ReasonTooLarge, fmt.Errorf("the modem's data make more than %d samples (--probe.max-samples); none are kept", r.p.maxSamples))
			set = collector.NewSet()
		}
		set.SetMaxSamples(0)
	}
	success := r.reason == "" && r.opened
	if r.reason == "" && !success {
		r.reason, r.err = ReasonBadResponse, errors.New("probe did not open a session")
	}
	// set.Add called directly, not through a method value: the label
	// values then stay on the stack.
	set.Add(successDesc, b2f(success))
	set.Add(durationDesc, dur.Seconds())
	set.Add(timeoutDesc, r.plan.Timeout.Seconds())
	for _, st := range probeStages {
		if d, ok := r.stages.get(st); ok {
			set.Add(stageDesc, d.Seconds(), st)
		}
	}
	if !success {
		set.Add(failureDesc, 1, r.reason)
	}
	if o := r.tlsObserved; o != nil {
		set.Add(certDesc, 1, strings.ToLower(o.Fingerprint.String()), o.Subject)
		if r.plan.Pin.IsSet() {
			set.Add(pinDesc, b2f(o.Matched))
		}
	}
	for _, c := range r.collectors.entries {
		set.Add(collectorDesc, b2f(c.value), c.name)
	}
	for _, c := range r.collectDur.entries {
		set.Add(collDurDesc, c.value.Seconds(), c.name)
	}
	if r.logout != nil {
		set.Add(logoutDesc, b2f(*r.logout))
	}
	source, profile := r.plan.SourceName()
	if r.dialect != nil && !r.dialect.NeedsCredentials() {
		source, profile = "none", "" // detected open: nothing was looked up
	}
	set.Add(sourceDesc, 1, source, profile)
	dialect := r.plan.Dialect
	if r.dialect != nil {
		dialect = r.dialect.Name()
	}
	set.Add(dialectDesc, 1, dialect)
	set.Add(insecureDesc, b2f(r.plan.Target.Insecure()))

	res := &Result{Metrics: set, Success: success, Duration: dur, Trace: r.trace, Started: r.start, plan: r.plan}
	if !success {
		res.Reason, res.Err = r.reason, r.err
	}
	for _, c := range r.collectors.entries {
		if c.value {
			res.Data = &r.data // at least one page was read
			break
		}
	}
	r.result = res
	if r.quiet {
		return res
	}
	r.p.metrics.probes.WithLabelValues(resultLabel(success), res.Reason).Inc()
	target, took := zap.String("target", r.plan.Target.Raw), zap.Duration("duration", dur)
	if o := r.tlsObserved; o != nil && !r.plan.Pin.IsSet() {
		r.p.log.Warn("probe without a pinned fingerprint: the modem is not authenticated; pin it with fingerprint= or under targets:",
			target, took, zap.String("observed_fingerprint", o.Fingerprint.String()))
	}
	if !success {
		r.p.log.Warn("probe failed", target, took, zap.String("reason", r.reason), zap.Error(r.err))
	} else if ce := r.p.log.Check(zap.DebugLevel, "probe succeeded"); ce != nil {
		ce.Write(target, took) // checked first: a line not logged costs no field slice
	}
	r.trace.Addf("result: success=%v duration=%s", success, dur.Round(time.Millisecond))
	return res
}

func resultLabel(ok bool) string {
	if ok {
		return "success"
	}
	return "failure"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// run is one probe of the modem, in stages: the modem's session slot, the
// lock-out gate, the conversation (dialect, credentials and their refusal
// gate, login with one retry after a rotation, the pages, the logout), and
// what the outcome teaches about the dialect. Each stage records its own
// failure; the result is built in one place.
func (p *Prober) run(ctx context.Context, plan *Plan, dev *device, f *flight) *Result {
	pr := newProbeRun(p, plan, dev)
	if pr.takeSlot(ctx, f) {
		if pr.lockOutGate() {
			pr.converse(ctx)
		}
		pr.settleDialect()
		<-dev.turn
	}
	res := pr.finish()
	p.history.Add(res)
	return res
}

// takeSlot waits for the modem's single session slot; on true the caller
// holds it and must release it (<-dev.turn).
func (r *probeRun) takeSlot(ctx context.Context, f *flight) bool {
	waitStart := time.Now()
	select {
	case r.dev.turn <- struct{}{}:
		r.dev.mu.Lock()
		f.started = true
		r.dev.mu.Unlock()
	case <-ctx.Done():
		r.fail(ReasonTimeout, fmt.Errorf("waiting for another probe of this modem: %w", ctx.Err()))
		return false
	}
	r.trace.Addf("waited %s for the modem's session slot", time.Since(waitStart).Round(time.Millisecond))
	if err := ctx.Err(); err != nil { // cancelled while the slot came free
		<-r.dev.turn
		r.fail(ReasonTimeout, fmt.Errorf("probe abandoned: %w", err))
		return false
	}
	return true
}

// lockOutGate refuses to contact a modem that locked out logins.
func (r *probeRun) lockOutGate() bool {
	if until := r.dev.locked(r.p.now()); !until.IsZero() {
		r.fail(ReasonLockedOut, fmt.Errorf("modem locked out logins (LoginProtect) until %s; not trying before", until.UTC().Format(time.RFC3339)))
		return false
	}
	return true
}

// converse talks to the modem: the dialect (configured, remembered or
// detected without credentials), the credentials only if the dialect
// needs them, the session, the pages and the logout.
func (r *probeRun) converse(ctx context.Context) {
	dialect := r.knownDialect()
	if dialect != nil && dialect.NeedsCredentials() && !r.credentialGate(ctx) {
		return
	}
	client, err := r.newClient()
	if err != nil {
		r.fail(ReasonConnect, err)
		return
	}
	defer client.Close()

	// Keep time for the logout: the session must be freed even when the
	// modem was slow.
	r.deadline = deadlineOf(ctx)
	logoutReserve := min(3*time.Second, time.Until(deadlineOf(ctx))/4)
	work, cancelWork := context.WithDeadline(ctx, deadlineOf(ctx).Add(-logoutReserve))
	defer cancelWork()

	var pre *hitron.Session
	if dialect == nil {
		if dialect, pre = r.detect(work, client); dialect == nil {
			return
		}
		if dialect.NeedsCredentials() && !r.credentialGate(ctx) {
			return
		}
	}
	session := r.open(ctx, work, client, pre, logoutReserve)
	if session == nil {
		return
	}
	r.fetch(work, session)
	r.endSession(ctx, session, logoutReserve)
}

// knownDialect is the dialect known without asking the modem: the
// configured one, or the one auto-detection found under the same pin.
func (r *probeRun) knownDialect() hitron.Dialect {
	name, how := r.plan.Dialect, "configured"
	if name == hitron.DialectAuto {
		if name, how = r.dev.knownDialect(r.dialectKey()), "remembered from an earlier probe"; name == "" {
			return nil
		}
	}
	d, err := r.p.dialectByName(name, r.plan.PasswordField)
	if err != nil { // the configuration was validated: not reached
		r.trace.Addf("dialect %q: %v", name, err)
		return nil
	}
	r.dialect = d
	r.trace.Addf("dialect %s (%s)", d.Name(), how)
	return d
}

// dialectKey is what a detected dialect is remembered under: the target
// and its pin. Two targets dialled at one address (a TLS front end that
// routes by name) do not inherit each other's dialect, and a modem
// presenting another certificate is detected afresh.
func (r *probeRun) dialectKey() string { return r.plan.Target.HostPort() + " " + r.plan.Pin.Key() }

// detect asks the modem which dialect it speaks, sending no credentials.
func (r *probeRun) detect(ctx context.Context, c *hitron.Client) (hitron.Dialect, *hitron.Session) {
	d, s, err := c.Detect(ctx)
	r.noteTLSVersion()
	if err != nil {
		r.fail(r.reasonFor(ctx, err), fmt.Errorf("detect the dialect: %w", err))
		return nil, nil
	}
	r.dev.rememberDialect(d.Name(), r.dialectKey())
	r.dialect = d
	r.trace.Addf("dialect %s (detected)", d.Name())
	return d, s
}

// settleDialect forgets a detected dialect when the probe failed in a way
// a firmware change could explain, so that the next probe detects again.
func (r *probeRun) settleDialect() {
	if r.plan.Dialect != hitron.DialectAuto {
		return
	}
	switch r.reason {
	case ReasonBadResponse, ReasonHTTPStatus, ReasonNotLoggedIn:
		r.dev.forgetDialect()
		r.trace.Addf("the next probe detects the dialect again (this one failed with %s)", r.reason)
	}
}

// newClient builds the probe's client: pinned TLS (none for an
// insecure_http target), TLS 1.2 at most for a modem known to choose it
// unless the target asks for more.
func (r *probeRun) newClient() (*hitron.Client, error) {
	r.maxTLS = r.dev.maxTLSVersion(r.p.now())
	if r.plan.TLS.MinVersionID > tls.VersionTLS12 {
		r.maxTLS = 0
	}
	return hitron.New(hitron.Options{
		BaseURL:      r.plan.Target.URL(),
		DialAddress:  r.plan.Address,
		MaxBodyBytes: r.p.maxBody,
		TLS: pin.ClientConfig(pin.Options{
			Pin: r.plan.Pin, MinVersion: r.plan.TLS.MinVersionID, ExtraCipherSuites: r.plan.TLS.CipherIDs,
			ServerName: serverName(r.plan.Target.Host), Observe: r.observeTLS, SessionCache: r.dev.sessions,
			MaxVersion: r.maxTLS,
		}),
		Trace: r.httpTrace,
	})
}

// noteTLSVersion records the version a pinned handshake chose; only a
// probe that offered TLS 1.3 learns it.
func (r *probeRun) noteTLSVersion() {
	if o := r.observation(); o != nil && o.Matched && r.maxTLS == 0 {
		r.dev.noteTLSVersion(o.Version, r.p.now())
	}
}

// credentialGate resolves the credentials and refuses to send ones the
// modem refused before (asking the backend again once the back-off ran
// out: a rotated password ends it).
func (r *probeRun) credentialGate(ctx context.Context) bool {
	creds, lookup, err := r.credentials(ctx, false)
	if err != nil {
		return false
	}
	dev, now := r.dev, r.p.now()
	if dev.isRefused(creds, now) {
		if dev.backoffExpired(now) && r.plan.Profile != nil {
			r.plan.Profile.Cache.Invalidate(lookup.Location, creds)
			if creds, lookup, err = r.credentials(ctx, true); err != nil {
				r.fail(ReasonCredentials, err)
				return false
			}
		}
		if dev.isRefused(creds, now) {
			dev.extendBackoff(now)
			r.fail(ReasonBackoff, errors.New("the modem refused these credentials before; not sending them again until they change"))
			return false
		}
	}
	r.creds, r.lookup = creds, lookup
	return true
}

// open opens the session in the dialect: with no I/O for a dialect without
// login, otherwise by logging in, and once more with re-fetched
// credentials when the modem refused them (a rotation).
func (r *probeRun) open(ctx, work context.Context, c *hitron.Client, pre *hitron.Session, logoutReserve time.Duration) *hitron.Session {
	if !r.dialect.NeedsCredentials() {
		s, err := c.LoginIn(work, pre, r.dialect, hitron.Credentials{})
		if err != nil {
			r.fail(r.reasonFor(work, err), err)
			return nil
		}
		r.opened = true
		return s
	}
	dev, creds := r.dev, r.creds
	session, err := r.login(work, c, pre, creds)
	r.noteTLSVersion()
	if errors.Is(err, hitron.ErrBadCredentials) {
		// Never again with these: recorded before anything else can fail.
		dev.refuse(creds, r.p.now())
		if r.plan.Profile != nil {
			// Maybe the password was rotated: drop the cached value, fetch
			// again, and retry once, only with credentials the modem has
			// not refused.
			r.plan.Profile.Cache.Invalidate(r.lookup.Location, creds)
			newCreds, _, ferr := r.credentials(work, true)
			switch {
			case ferr != nil:
				r.trace.Addf("re-fetching the credentials failed: %v", ferr)
			case dev.isRefused(newCreds, r.p.now()):
				r.trace.Addf("backend returned credentials the modem refused; not retrying, backing off")
			default:
				r.trace.Addf("backend returned new credentials; retrying the login once")
				creds = newCreds
				session, err = r.login(work, c, nil, creds)
				if errors.Is(err, hitron.ErrBadCredentials) {
					dev.refuse(creds, r.p.now())
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
				dev.refuseUncertain(creds, r.p.now())
			}
		}
		if errors.Is(err, hitron.ErrLoginUnclear) && !dev.wasAccepted(creds) {
			// Turned down in words we cannot read: these credentials may
			// be wrong, so they wait the doubling back-off too.
			dev.refuseUncertain(creds, r.p.now())
		}
		var locked *hitron.LockedOutError
		if errors.As(err, &locked) && !dev.wasAccepted(creds) {
			// The lock-out may be these credentials' doing.
			dev.refuseUntil(creds, r.p.now().Add(refusalExpiry))
		}
		r.fail(r.reasonFor(work, err), err)
		return nil
	}
	dev.accepted(creds)
	r.opened = true
	return session
}

// endSession logs the session out; a failed logout is remembered so that the next
// probe logs that session out first.
func (r *probeRun) endSession(ctx context.Context, s *hitron.Session, logoutReserve time.Duration) {
	if !r.dialect.NeedsCredentials() {
		return // no session on the modem to end
	}
	start := time.Now()
	err := s.Logout(ctx, max(logoutReserve, time.Second))
	r.dev.noteLogout(time.Since(start))
	if errors.Is(err, hitron.ErrNoLogout) {
		// Neither a logout nor a failed one: hitron_probe_logout_success
		// is left out rather than claim either.
		r.p.metrics.logouts.WithLabelValues("unsupported").Inc()
		r.trace.Addf("the firmware has no logout (%v): the session ends when the modem times it out or the next login replaces it", err)
		return
	}
	if err != nil {
		r.dev.keepStale(s)
		r.p.metrics.logouts.WithLabelValues("error").Inc()
		r.loggedOut(false)
		r.trace.Addf("logout failed: %v", err)
		r.p.log.Warn("logout failed; the modem's session may stay taken until it times out",
			zap.String("target", r.plan.Target.Raw), zap.Error(err))
		return
	}
	r.p.metrics.logouts.WithLabelValues("success").Inc()
	r.loggedOut(true)
}

package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
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
	start  time.Time
	trace  *Trace
	data   hitron.Data
	result *Result

	mu          sync.Mutex
	stages      map[string]time.Duration
	collectors  map[string]bool
	collectDur  map[string]time.Duration
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
}

func newProbeRun(p *Prober, plan *Plan) *probeRun {
	return &probeRun{
		p: p, plan: plan, start: time.Now(), trace: &Trace{},
		stages: map[string]time.Duration{}, collectors: map[string]bool{}, collectDur: map[string]time.Duration{},
	}
}

func (r *probeRun) stage(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages[name] += d
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
	if ev.Err != nil {
		r.trace.Addf("HTTP %s %s → %d, %d bytes, %s, error: %v", ev.Method, ev.Path, ev.Status, ev.Bytes, ev.Duration.Round(time.Microsecond), ev.Err)
	} else {
		r.trace.Addf("HTTP %s %s → %d, %d bytes, %s", ev.Method, ev.Path, ev.Status, ev.Bytes, ev.Duration.Round(time.Microsecond))
	}
	switch ev.Path {
	case "/":
		r.stage("connect", ev.Duration)
	case "/goform/login":
		r.stage("login", ev.Duration)
	}
}

// credentials resolves the plan's credentials, through the cache.
func (r *probeRun) credentials(ctx context.Context, refetch bool) (secrets.Credentials, secrets.Lookup, error) {
	if r.plan.Creds != nil {
		return *r.plan.Creds, secrets.Lookup{Location: "url"}, nil
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

// login logs in and records the outcome.
func (r *probeRun) login(ctx context.Context, c *hitron.Client, creds secrets.Credentials, dev *device) (*hitron.Session, error) {
	if stale := dev.takeStale(); stale != nil {
		// Our previous logout failed: log that session out first, by its
		// own cookies, so the login below does not meet Repeat Login.
		if err := stale.Logout(ctx, 3*time.Second); err != nil {
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
	s, err := c.Login(ctx, creds.Username(), creds.Password(), r.plan.Force)
	if err == nil || errors.Is(err, hitron.ErrBadCredentials) || errors.Is(err, hitron.ErrSessionBusy) {
		dev.noteLogin(time.Since(start))
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
func (r *probeRun) fetch(ctx context.Context, s *hitron.Session, dev *device) {
	start := time.Now()
	defer func() { r.stage("fetch", time.Since(start)) }()
	for _, ds := range r.plan.Datasets {
		if dev.skip(ds, r.p.now()) {
			r.trace.Addf("%s: skipped, the firmware lacks it (404 earlier)", ds)
			continue
		}
		t0 := time.Now()
		body, err := s.Fetch(ctx, ds)
		r.collectDur[string(ds)] = time.Since(t0)
		if errors.Is(err, hitron.ErrNotFound) {
			dev.markUnsupported(ds, r.p.now().Add(unsupportedRecheck))
			r.trace.Addf("%s: not supported by this firmware (404)", ds)
			delete(r.collectDur, string(ds))
			continue
		}
		if err != nil {
			r.collectors[string(ds)] = false
			r.fail(r.reasonFor(ctx, err), err)
			if errors.Is(err, hitron.ErrNotLoggedIn) || ctx.Err() != nil {
				return // the session is gone or the budget spent
			}
			continue
		}
		if err := r.data.ParseLimit(ds, body, r.p.maxRows); err != nil {
			r.collectors[string(ds)] = false
			reason := ReasonBadResponse
			if errors.Is(err, hitron.ErrTooLarge) {
				reason = ReasonTooLarge
			}
			r.fail(reason, fmt.Errorf("%s: %w", ds, err))
			continue
		}
		r.collectors[string(ds)] = true
		r.trace.Addf("%s: parsed %d bytes", ds, len(body))
	}
	r.trace.Addf("parsed: %d downstream, %d upstream, %d OFDM, %d OFDMA channels", len(r.data.Downstream), len(r.data.Upstream), len(r.data.OFDM), len(r.data.OFDMA))
}

func (d *device) skip(ds hitron.Dataset, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.unsupported[ds]
	return ok && now.Before(until)
}

func (d *device) markUnsupported(ds hitron.Dataset, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unsupported[ds] = until
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
)

// finish builds the result registry.
func (r *probeRun) finish() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	dur := time.Since(r.start)
	// The modem's samples first, bounded: a probe over the bound keeps
	// none of them, only its own metrics, and fails too_large.
	set := collector.NewSet()
	if r.stages["login"] > 0 {
		set.SetMaxSamples(r.p.maxSamples)
		collector.New(&r.data, r.plan.Location).AddTo(set)
		if set.Overflowed() {
			r.failLocked(ReasonTooLarge, fmt.Errorf("the modem's data make more than %d samples (--probe.max-samples); none are kept", r.p.maxSamples))
			set = collector.NewSet()
		}
		set.SetMaxSamples(0)
	}
	success := r.reason == "" && r.stages["login"] > 0
	if r.reason == "" && !success {
		r.reason, r.err = ReasonBadResponse, errors.New("probe did not log in")
	}
	add := set.Add
	add(successDesc, b2f(success))
	add(durationDesc, dur.Seconds())
	add(timeoutDesc, r.plan.Timeout.Seconds())
	for _, st := range []string{"credentials", "connect", "login", "fetch", "logout"} {
		if d, ok := r.stages[st]; ok {
			add(stageDesc, d.Seconds(), st)
		}
	}
	if !success {
		add(failureDesc, 1, r.reason)
	}
	if o := r.tlsObserved; o != nil {
		add(certDesc, 1, strings.ToLower(o.Fingerprint.String()), o.Subject)
		if r.plan.Pin.IsSet() {
			add(pinDesc, b2f(o.Matched))
		}
	}
	for c, ok := range r.collectors {
		add(collectorDesc, b2f(ok), c)
	}
	for c, d := range r.collectDur {
		add(collDurDesc, d.Seconds(), c)
	}
	if r.logout != nil {
		add(logoutDesc, b2f(*r.logout))
	}
	source, profile := r.plan.SourceName()
	add(sourceDesc, 1, source, profile)

	res := &Result{Metrics: set, Success: success, Duration: dur, Trace: r.trace, Started: r.start, plan: r.plan}
	if !success {
		res.Reason, res.Err = r.reason, r.err
	}
	for _, parsed := range r.collectors {
		if parsed {
			res.Data = &r.data // at least one page was read
			break
		}
	}
	r.result = res
	if r.quiet {
		return res
	}
	r.p.metrics.probes.WithLabelValues(resultLabel(success), res.Reason).Inc()
	fields := []zap.Field{zap.String("target", r.plan.Target.Raw), zap.Duration("duration", dur)}
	if o := r.tlsObserved; o != nil && !r.plan.Pin.IsSet() {
		r.p.log.Warn("probe without a pinned fingerprint: the modem is not authenticated; pin it with fingerprint= or under targets:",
			append(fields, zap.String("observed_fingerprint", o.Fingerprint.String()))...)
	}
	if success {
		r.p.log.Debug("probe succeeded", fields...)
	} else {
		r.p.log.Warn("probe failed", append(fields, zap.String("reason", r.reason), zap.Error(r.err))...)
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

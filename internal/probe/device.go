package probe

import (
	"crypto/sha256"
	"crypto/tls"
	"sync"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
	"github.com/hitron-exporter/hitron-exporter/internal/eventlog"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// device is the state kept per modem. Its methods keep the modem's
// metrics (the back-off gauge) up to date as its state changes.
type device struct {
	// key is the modem's dial address (Plan.StateKey), the metrics' label.
	key     string
	metrics *proberMetrics

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
	// dialect is the login dialect auto-detection found, for the target
	// and pin it was found under (see rememberDialect).
	dialect    string
	dialectKey string
	// descs keeps the description of the metric family whose labels the
	// modem names, so it is not built and validated every probe.
	descs collector.DescMemory
	// events counts the modem's DOCSIS events across probes, each once
	// (bounded: see eventlog.Memory); it is forgotten with the device.
	events eventlog.Memory
	// lastUsed is guarded by Prober.mu.
	lastUsed time.Time
}

func newDevice(key string, metrics *proberMetrics) *device {
	return &device{key: key, metrics: metrics, turn: make(chan struct{}, 1), unsupported: map[hitron.Dataset]time.Time{},
		sessions: tls.NewLRUClientSessionCache(4), refused: map[[32]byte]time.Time{}, flights: map[string]*flight{},
		everAccepted: map[[32]byte]bool{}, loginTakes: defaultExchangeTakes, logoutTakes: defaultExchangeTakes}
}

// forgotten clears the metrics of a device the prober no longer keeps.
func (d *device) forgotten() { d.metrics.setBackoff(d.key, false) }

// resetBackoff ends the back-off (a reload: the backend is asked again at
// once); refusals are kept, and so is the back-off gauge, which the next
// probe updates.
func (d *device) resetBackoff() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.backoffLevel, d.backoffUntil = 0, time.Time{}
}

// protectsLocked reports whether the device holds state that keeps the
// modem safe (refusals, a lock-out, a back-off, a session to log out);
// d.mu is held.
func (d *device) protectsLocked(now time.Time) bool {
	return now.Before(d.lockedUntil) || d.hasRefusals(now) || now.Before(d.backoffUntil) || d.stale != nil
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

// knownDialect is the dialect auto-detection found under key, the target
// and pin ("" when none is remembered: never detected, forgotten, or found
// for another target or under another pin).
func (d *device) knownDialect(key string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dialectKey != key {
		return ""
	}
	return d.dialect
}

// rememberDialect keeps what auto-detection found, for this target and
// pin only: another target at the address, or a modem presenting another
// certificate, is detected afresh.
func (d *device) rememberDialect(name, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialect, d.dialectKey = name, key
}

// forgetDialect makes the next auto probe detect the dialect again.
func (d *device) forgetDialect() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialect, d.dialectKey = "", ""
}

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
	d.metrics.setBackoff(d.key, true)
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
	d.metrics.setBackoff(d.key, true)
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
	d.metrics.setBackoff(d.key, true)
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
	d.metrics.setBackoff(d.key, false)
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

// observeEvents counts the new events of the log the modem shows now and
// returns the modem's event counters.
func (d *device) observeEvents(entries []eventlog.Entry) eventlog.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events.Observe(entries)
	return d.events.Snapshot()
}

package probe

import (
	"context"
	"sync"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
)

// fakeModem is a scripted modem session: a hitron.Dialect that answers
// without any I/O, as a CGN modem's login does (one session slot, "Wrong
// Credentials.", "Repeat Login" unless forced, LoginProtect after lockAfter
// wrong passwords in a row), and counts what reached it. A prober is given
// it through its dialectByName seam, as snmp_exporter's collector is given
// a fake scraper: the state machine is then tested without a network, and
// its answers can be made to go missing on purpose (loseLoginAnswers).
type fakeModem struct {
	// latency is how long each exchange takes.
	latency time.Duration
	// lockAfter wrong passwords in a row lock logins for lockFor.
	lockAfter int
	lockFor   time.Duration

	mu       sync.Mutex
	password string
	// session is the session holding the modem's slot; foreign is set
	// when someone else (a person at the web interface) holds it.
	session     *hitron.Session
	foreign     bool
	failures    int
	lockedUntil time.Time
	// loseLoginAnswers: the next n logins are accepted, but their answers
	// never come (each waits until the probe gives up).
	loseLoginAnswers int
	stats            modemStats
	inFlight         int
}

// modemStats is what reached a modem, simulated or fake.
type modemStats struct {
	// passwords are those of every login attempt, in order.
	passwords []string
	// forced counts the attempts that asked to take another session over.
	forced                        int
	logins, logouts, repeatLogins int
	maxInFlight                   int
	sessionActive                 bool
}

var _ hitron.Dialect = (*fakeModem)(nil)

func (*fakeModem) Name() string           { return hitron.DialectCGN }
func (*fakeModem) NeedsCredentials() bool { return true }

// exchange accounts for one request: it takes the modem's latency (false
// when ctx ends first, as a request whose answer never came) and tracks
// how many requests reach the modem at once. Call the returned func when
// the answer is given.
func (f *fakeModem) exchange(ctx context.Context) (answered bool, done func()) {
	f.mu.Lock()
	f.inFlight++
	f.stats.maxInFlight = max(f.stats.maxInFlight, f.inFlight)
	f.mu.Unlock()
	done = func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
	t := time.NewTimer(f.latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true, done
	case <-ctx.Done():
		return false, done
	}
}

// Login answers as a CGN modem does; sent is true only when the login was
// sent and its answer lost (hitron.Dialect's contract).
func (f *fakeModem) Login(ctx context.Context, s *hitron.Session, cr hitron.Credentials) (sent bool, err error) {
	answered, done := f.exchange(ctx)
	defer done()
	if !answered {
		return false, ctx.Err() // given up before the login was sent
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.passwords = append(f.stats.passwords, cr.Password)
	if cr.Force {
		f.stats.forced++
	}
	now := time.Now()
	switch {
	case now.Before(f.lockedUntil):
		return false, &hitron.LockedOutError{Failures: f.failures, Wait: f.lockedUntil.Sub(now)}
	case cr.Password != f.password:
		f.failures++
		if f.lockAfter > 0 && f.failures >= f.lockAfter {
			f.lockedUntil = now.Add(f.lockFor)
			return false, &hitron.LockedOutError{Failures: f.failures, Wait: f.lockFor}
		}
		return false, hitron.ErrBadCredentials
	case (f.session != nil || f.foreign) && !cr.Force:
		f.stats.repeatLogins++
		return false, hitron.ErrSessionBusy
	}
	f.failures, f.session, f.foreign = 0, s, false
	f.stats.logins++
	if f.loseLoginAnswers > 0 {
		f.loseLoginAnswers--
		f.mu.Unlock()
		<-ctx.Done() // accepted, but the answer never arrives
		f.mu.Lock()
		return true, ctx.Err()
	}
	return false, nil
}

// Fetch answers every page with an empty table (Parse reads nothing of
// it): the state machine, not the page readers, is under test here.
func (f *fakeModem) Fetch(ctx context.Context, s *hitron.Session, ds hitron.Dataset) ([]byte, error) {
	answered, done := f.exchange(ctx)
	defer done()
	if !answered {
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.session != s {
		return nil, hitron.ErrNotLoggedIn
	}
	return []byte("[]"), nil
}

func (*fakeModem) Parse(*hitron.Data, hitron.Dataset, []byte, int) error { return nil }

func (f *fakeModem) Logout(ctx context.Context, s *hitron.Session) error {
	answered, done := f.exchange(ctx)
	defer done()
	if !answered {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.session == s {
		f.session = nil
		f.stats.logouts++
	}
	return nil
}

func (f *fakeModem) setPassword(pw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.password = pw
}

func (f *fakeModem) openForeignSession() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.foreign = true
}

func (f *fakeModem) modemStats() modemStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	st.passwords = append([]string(nil), f.stats.passwords...)
	st.sessionActive = f.session != nil
	return st
}

package probe

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
)

// The probe's state machine (refusals and back-off, lock-outs, queueing and
// shared runs, lost login answers, the time a login and logout need) is
// tested here against two kinds of modem: the simulator, over pinned TLS,
// and the scripted fake session of fakemodem_test.go, with no I/O at all.

// statePassword is the password the modems accept and the credentials
// file holds, unless a test changes either.
const statePassword = "state-machine-Pa55word"

// modemSpec is how a test wants its modem to behave.
type modemSpec struct {
	password  string // "" means statePassword
	lockAfter int    // wrong passwords in a row that lock logins (0: 50)
	lockFor   time.Duration
	latency   time.Duration // per request
}

// testModem is a modem under test, simulated or fake.
type testModem interface {
	addr() string
	fingerprint() string
	setPassword(string)
	openForeignSession()
	// lockOut sends the modem wrong passwords from elsewhere (a person
	// guessing) until it locks logins.
	lockOut(t *testing.T)
	modemStats() modemStats
	// reach makes p talk to this modem (the fake one is put in p's seam).
	reach(p *Prober)
}

// modemKinds are the modems every state-machine test runs against.
var modemKinds = []struct {
	name  string
	start func(*testing.T, modemSpec) testModem
}{
	{"simulator", startSimModem},
	{"fake", startFakeModem},
}

func (s modemSpec) withDefaults() modemSpec {
	if s.password == "" {
		s.password = statePassword
	}
	if s.lockAfter == 0 {
		s.lockAfter = 50
	}
	if s.lockFor == 0 {
		s.lockFor = 5 * time.Minute
	}
	return s
}

// simModem is the simulator.
type simModem struct {
	*modemsim.Simulator
	lockAfter int
}

func startSimModem(t *testing.T, spec modemSpec) testModem {
	spec = spec.withDefaults()
	sim := testkit.StartSim(t, modemsim.Config{Password: spec.password, LockAfter: spec.lockAfter, LockFor: spec.lockFor, Latency: spec.latency})
	return &simModem{Simulator: sim, lockAfter: spec.lockAfter}
}

func (m *simModem) addr() string          { return m.Addr() }
func (m *simModem) fingerprint() string   { return m.Fingerprint().String() }
func (m *simModem) setPassword(pw string) { m.SetPassword(pw) }
func (m *simModem) openForeignSession()   { m.OpenForeignSession() }
func (m *simModem) reach(*Prober)         {}

func (m *simModem) lockOut(t *testing.T) {
	c, err := hitron.New(hitron.Options{BaseURL: &url.URL{Scheme: "https", Host: m.Addr()},
		TLS: pin.ClientConfig(pin.Options{Pin: pin.Require(m.Fingerprint())})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < m.lockAfter; i++ {
		_, _ = c.Login(context.Background(), hitron.CGN{}, hitron.Credentials{Username: "admin", Password: fmt.Sprintf("guess-%d", i)})
	}
}

func (m *simModem) modemStats() modemStats {
	st := m.Stats()
	out := modemStats{logins: st.Logins, logouts: st.Logouts, repeatLogins: st.RepeatLogins, maxInFlight: st.MaxInFlight, sessionActive: st.SessionActive}
	for _, a := range st.LoginAttempts {
		out.passwords = append(out.passwords, a.Password)
		if a.Force {
			out.forced++
		}
	}
	return out
}

// fakeTarget is the fake session at an address where nothing listens: a
// probe that tried to reach it over the network would fail to connect.
type fakeTarget struct {
	*fakeModem
	address string
}

func startFakeModem(t *testing.T, spec modemSpec) testModem {
	spec = spec.withDefaults()
	return &fakeTarget{
		fakeModem: &fakeModem{password: spec.password, lockAfter: spec.lockAfter, lockFor: spec.lockFor, latency: spec.latency},
		address:   testkit.MustFreeAddr(t),
	}
}

func (f *fakeTarget) addr() string        { return f.address }
func (f *fakeTarget) fingerprint() string { return fpA }

func (f *fakeTarget) reach(p *Prober) {
	p.dialectByName = func(string, string) (hitron.Dialect, error) { return f.fakeModem, nil }
}

func (f *fakeTarget) lockOut(*testing.T) {
	for i := 0; i < f.lockAfter; i++ {
		_, _ = f.Login(context.Background(), &hitron.Session{}, hitron.Credentials{Username: "admin", Password: fmt.Sprintf("guess-%d", i)})
	}
}

// stateConfig lists the modem under targets: with its pin and the cgn
// dialect (configured, so that the fake is used without auto-detection).
const stateConfig = `
auths:
  default:
    file:
      path: {{dir}}/credentials.yml
targets:
  "{{addr}}":
    fingerprint: "{{fp}}"
    dialect: cgn
`

// stateEnv is a prober in front of one modem, with the configuration's
// files in dir and the prober's metrics in metrics.
type stateEnv struct {
	t       *testing.T
	modem   testModem
	prober  *Prober
	snap    *Snapshot
	dir     string
	metrics *prometheus.Registry
}

// newStateEnv builds a snapshot from cfgText ({{addr}}, {{fp}} and {{dir}}
// replaced) after writing files into its dir (credentials.yml holds
// statePassword unless files says otherwise), and a prober that reaches m.
func newStateEnv(t *testing.T, m testModem, cfgText string, o Options, files map[string]string) *stateEnv {
	t.Helper()
	e := &stateEnv{t: t, modem: m, dir: t.TempDir(), metrics: prometheus.NewRegistry()}
	e.writeCredentials(statePassword)
	for name, body := range files {
		testkit.WriteFile(t, filepath.Join(e.dir, name), body)
	}
	cfg, err := config.Parse([]byte(strings.NewReplacer("{{addr}}", m.addr(), "{{fp}}", m.fingerprint(), "{{dir}}", e.dir).Replace(cfgText)))
	if err != nil {
		t.Fatal(err)
	}
	log, logs := testkit.DebugLogger(t)
	reg := secrets.NewRegistry()
	reg.Register("file", file.Kind())
	if e.snap, err = Build(cfg, reg, nil, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.snap.Close)
	o.Logger, o.Registerer = log, e.metrics
	e.prober = New(o)
	m.reach(e.prober)
	t.Cleanup(func() {
		if strings.Contains(logs.String(), statePassword) {
			t.Error("the password appears in the logs")
		}
	})
	return e
}

func (e *stateEnv) writeCredentials(password string) {
	testkit.WriteFile(e.t, filepath.Join(e.dir, "credentials.yml"), "username: admin\npassword: "+password+"\n")
}

// plan plans a probe of r (the modem when r.Target is empty).
func (e *stateEnv) plan(r Request) *Plan {
	e.t.Helper()
	if r.Target == "" {
		r.Target = e.modem.addr()
	}
	plan, err := NewPlan(e.snap, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return plan
}

func (e *stateEnv) probe(r Request) *Result {
	e.t.Helper()
	return e.prober.Probe(context.Background(), e.plan(r))
}

// wantReason checks a result's failure reason ("" for success).
func wantReason(t *testing.T, what string, res *Result, reason string) {
	t.Helper()
	if res.Reason != reason || res.Success != (reason == "") {
		t.Fatalf("%s: success %v, reason %q (%v), want reason %q", what, res.Success, res.Reason, res.Err, reason)
	}
}

// backoffShown reports whether the exporter's metrics show the modem's
// back-off.
func (e *stateEnv) backoffShown() bool {
	e.t.Helper()
	n, err := testutil.GatherAndCount(e.metrics, "hitron_exporter_target_backoff_active")
	if err != nil {
		e.t.Fatal(err)
	}
	return n > 0
}

func (e *stateEnv) assertSessionFreed() {
	e.t.Helper()
	if e.modem.modemStats().sessionActive {
		e.t.Fatal("the modem's session was left open")
	}
}

func countOf(passwords []string, pw string) int {
	n := 0
	for _, p := range passwords {
		if p == pw {
			n++
		}
	}
	return n
}

// TestStateMachine runs each scenario against each kind of modem.
func TestStateMachine(t *testing.T) {
	scenarios := []struct {
		name  string
		modem modemSpec
		run   func(t *testing.T, m testModem)
	}{
		{"a wrong password backs off without hammering", modemSpec{lockAfter: 3}, wrongPasswordBacksOff},
		{"a busy session, a lock-out and force", modemSpec{lockAfter: 2, lockFor: time.Minute}, sessionBusyLockOutAndForce},
		{"concurrent probes of one modem share or queue", modemSpec{latency: 2 * time.Millisecond}, concurrentProbesOfOneModem},
		{"alternating profiles never resend a refused password", modemSpec{}, alternatingProfilesKeepRefusals},
		{"abandoned probes do not queue", modemSpec{latency: 50 * time.Millisecond}, abandonedProbesDoNotQueue},
		{"an abandoned run is cancelled", modemSpec{}, abandonedRunIsCancelled},
		{"a full queue is bounded", modemSpec{latency: 30 * time.Millisecond}, queueFloodIsBounded},
		{"no login without time to log out", modemSpec{latency: 400 * time.Millisecond}, noLoginWithoutTimeToLogOut},
	}
	for _, kind := range modemKinds {
		for _, sc := range scenarios {
			t.Run(kind.name+"/"+sc.name, func(t *testing.T) { sc.run(t, kind.start(t, sc.modem)) })
		}
	}
}

// wrongPasswordBacksOff: a refused password reaches the modem once; the
// back-off shows on the exporter's metrics until fixed credentials log in,
// which they do at once.
func wrongPasswordBacksOff(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	m.setPassword("the-modem-has-another-one")
	for i := 0; i < 5; i++ {
		want := ReasonBackoff
		if i == 0 {
			want = ReasonBadCredentials
		}
		wantReason(t, fmt.Sprintf("probe %d", i), e.probe(Request{}), want)
	}
	if n := len(m.modemStats().passwords); n != 1 {
		t.Fatalf("the modem saw %d logins with a refused password, want 1", n)
	}
	if !e.backoffShown() {
		t.Error("back-off not visible on the exporter's metrics")
	}
	m.setPassword("rotated-" + statePassword)
	e.writeCredentials("rotated-" + statePassword)
	wantReason(t, "probe with fixed credentials", e.probe(Request{}), "")
	e.assertSessionFreed()
	if e.backoffShown() {
		t.Error("back-off still shown after a successful login")
	}
}

// sessionBusyLockOutAndForce: another administrator's session is not
// taken over unless force is asked; a lock-out someone else caused is
// learnt from one login and then respected.
func sessionBusyLockOutAndForce(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	m.openForeignSession()
	wantReason(t, "probe of a busy modem", e.probe(Request{}), ReasonSessionBusy)
	wantReason(t, "forced probe", e.probe(Request{Force: true}), "")
	e.assertSessionFreed()

	m.lockOut(t)
	before := len(m.modemStats().passwords)
	wantReason(t, "probe of a locked modem", e.probe(Request{}), ReasonLockedOut)
	wantReason(t, "next probe of a locked modem", e.probe(Request{}), ReasonLockedOut)
	if got := len(m.modemStats().passwords) - before; got != 1 {
		t.Fatalf("%d logins reached a locked-out modem, want 1 (the one that learnt of the lock-out)", got)
	}
}

// concurrentProbesOfOneModem: identical probes share one session, another
// spelling of the same modem waits its turn; the modem never sees two
// requests at once nor a Repeat Login.
func concurrentProbesOfOneModem(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	plans := []*Plan{
		e.plan(Request{}),
		e.plan(Request{Target: "https://" + m.addr(), Fingerprint: m.fingerprint()}),
	}
	const probes = 40
	results := make(chan *Result, probes)
	var wg sync.WaitGroup
	for i := 0; i < probes; i++ {
		wg.Add(1)
		go func(plan *Plan) {
			defer wg.Done()
			results <- e.prober.Probe(context.Background(), plan)
		}(plans[i%2])
	}
	wg.Wait()
	close(results)
	for res := range results {
		wantReason(t, "a concurrent probe", res, "")
	}
	st := m.modemStats()
	if st.repeatLogins != 0 {
		t.Fatalf("probes fought over the modem's session: %d Repeat Login answers", st.repeatLogins)
	}
	if st.logins != st.logouts || st.logins > probes || st.logins < 2 {
		t.Fatalf("logins %d, logouts %d", st.logins, st.logouts)
	}
	if st.maxInFlight > 1 {
		t.Fatalf("the prober sent %d requests to the modem at once", st.maxInFlight)
	}
	t.Logf("%d concurrent probes: %d modem sessions", probes, st.logins)
	e.assertSessionFreed()
}

// alternatingProfilesKeepRefusals: a good profile's success in between
// does not make the modem forget a refused password.
func alternatingProfilesKeepRefusals(t *testing.T, m testModem) {
	e := newStateEnv(t, m, strings.Replace(stateConfig, "auths:\n", "auths:\n  bad:\n    file:\n      path: {{dir}}/bad.yml\n", 1),
		Options{}, map[string]string{"bad.yml": "username: admin\npassword: wrong-one\n"})
	for i := 0; i < 6; i++ {
		e.probe(Request{Auth: "bad"})
		wantReason(t, "probe with the good profile", e.probe(Request{}), "")
	}
	if n := countOf(m.modemStats().passwords, "wrong-one"); n != 1 {
		t.Fatalf("the refused password was sent %d times, want 1", n)
	}
}

// abandonedProbesDoNotQueue: callers that give up (with a huge budget and
// ever-new parameters) leave nothing queued for the modem, and a normal
// probe right after succeeds.
func abandonedProbesDoNotQueue(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	for i := 0; i < 100; i++ {
		plan := e.plan(Request{Timeout: time.Hour, Params: map[string]string{"ipa_vault_namespace": fmt.Sprintf("x%d", i)}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		e.prober.Probe(ctx, plan)
		cancel()
	}
	time.Sleep(300 * time.Millisecond)
	logins := m.modemStats().logins
	wantReason(t, "probe after the abandoned ones", e.probe(Request{Timeout: 3 * time.Second}), "")
	if after := m.modemStats().logins; after > logins+1 {
		t.Fatalf("logins went on after the callers left: %d then %d", logins, after)
	}
	if logins > 10 {
		t.Fatalf("%d logins for 100 abandoned probes of one modem", logins)
	}
}

// holdSlot takes the modem's session slot, as a run in progress holds it,
// so that what the probes meanwhile do cannot depend on how fast the
// machine is; release gives it back.
func (e *stateEnv) holdSlot(plan *Plan) (dev *device, release func()) {
	e.t.Helper()
	dev, ok := e.prober.admit(plan.StateKey, plan.Configured)
	if !ok {
		e.t.Fatal("no device state for the modem")
	}
	dev.turn <- struct{}{}
	return dev, func() { <-dev.turn }
}

// abandonedRunIsCancelled: a run whose every caller left before it reached
// the modem (a scrape whose connection closed: cancelled, its deadline far
// off) is cancelled, not kept waiting to log in for nobody: with the
// modem's session slot held until the caller has gone, the modem then sees
// no login at all.
func abandonedRunIsCancelled(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	plan := e.plan(Request{Timeout: time.Hour})
	dev, release := e.holdSlot(plan) // until the caller has left
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	wantReason(t, "the abandoned probe", e.prober.Probe(ctx, plan), ReasonTimeout)
	release()
	for until := time.Now().Add(10 * time.Second); time.Now().Before(until); time.Sleep(10 * time.Millisecond) {
		dev.mu.Lock()
		runs := dev.runs
		dev.mu.Unlock()
		if runs == 0 {
			break
		}
	}
	if n := m.modemStats().logins; n != 0 {
		t.Fatalf("the modem saw %d logins for a probe whose caller had left", n)
	}
}

// queueFloodIsBounded: a probe whose deadline is more than a second later
// than the queued run's replaces it, and the replaced run used to stop
// counting against the queue: 30 probes 1.1 s apart all queued and the
// modem saw 16 logins. Replaced runs count now.
func queueFloodIsBounded(t *testing.T, m testModem) {
	const maxQueued, probes = 8, 20
	e := newStateEnv(t, m, stateConfig, Options{MaxQueued: maxQueued}, nil)
	// Hold the modem's session slot until the whole flood has arrived: no
	// run can end mid-flood and let one more in.
	_, release := e.holdSlot(e.plan(Request{Timeout: 30 * time.Second}))
	var wg sync.WaitGroup
	refused := make(chan struct{}, probes)
	for i := 0; i < probes; i++ {
		// Each deadline 2 s after the last: each replaces the queued run.
		plan := e.plan(Request{Timeout: time.Duration(30+2*i) * time.Second})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := e.prober.Probe(context.Background(), plan); res.Reason == ReasonTimeout {
				refused <- struct{}{}
			}
		}()
		time.Sleep(10 * time.Millisecond)
	}
	// Every probe has been answered at once (refused) or queued: let the
	// queued runs have the modem.
	for until := time.Now().Add(10 * time.Second); len(refused) < probes-maxQueued && time.Now().Before(until); {
		time.Sleep(10 * time.Millisecond)
	}
	release()
	wg.Wait()
	close(refused)
	if n := m.modemStats().logins; n > maxQueued {
		t.Fatalf("the modem saw %d logins from %d probes queued at once, want at most %d", n, probes, maxQueued)
	}
	if len(refused) < probes-maxQueued {
		t.Fatalf("%d probes refused, want at least %d", len(refused), probes-maxQueued)
	}
}

// noLoginWithoutTimeToLogOut: a probe whose budget is shorter than the
// modem takes to answer a login and a logout does not log in: the answer
// would come too late and the modem's only session would stay taken.
func noLoginWithoutTimeToLogOut(t *testing.T, m testModem) {
	e := newStateEnv(t, m, stateConfig+"    datasets: [getSysInfo]\n", Options{}, nil)
	wantReason(t, "first probe", e.probe(Request{}), "") // the prober learns how slow the modem is
	before := m.modemStats().logins
	// A login and a logout take 0.4 s each at least (the simulator's login
	// also fetches the login page): 0.7 s is not enough for both.
	wantReason(t, "probe with 0.7 s left", e.probe(Request{Timeout: 700 * time.Millisecond}), ReasonTimeout)
	if n := m.modemStats().logins - before; n != 0 {
		t.Fatalf("the modem saw %d logins with too little time left, want 0", n)
	}
	e.assertSessionFreed()
}

// TestLostLoginAnswerIsLoggedOut: a modem that accepts the login but whose
// answer never comes gets a logout; the unconfirmed password is not sent
// again at once, and no session is forced out. Only the fake can lose an
// answer on purpose.
func TestLostLoginAnswerIsLoggedOut(t *testing.T) {
	m := startFakeModem(t, modemSpec{}).(*fakeTarget)
	m.loseLoginAnswers = 1
	e := newStateEnv(t, m, stateConfig, Options{}, nil)
	wantReason(t, "first probe", e.probe(Request{Timeout: 2 * time.Second}), ReasonTimeout)
	st := m.modemStats()
	if st.logouts < 1 || st.sessionActive {
		t.Fatalf("no logout after a login whose answer was lost (logouts %d, session active %v)", st.logouts, st.sessionActive)
	}
	// The password never worked on this modem and its answer was lost: it
	// may be wrong, so it waits a back-off instead of going out on every
	// probe; and nobody's session is forced out.
	wantReason(t, "second probe", e.probe(Request{Timeout: 2 * time.Second}), ReasonBackoff)
	if st := m.modemStats(); len(st.passwords) != 1 || st.forced != 0 {
		t.Fatalf("logins %d, forced %d; want 1 and 0", len(st.passwords), st.forced)
	}
}

// TestStateFloodKeepsRefusals: probing throwaway targets that answer
// "Wrong Credentials." used to evict the real modem's state, refusals
// included, and the next probe re-sent the refused password. With the
// table full of protective state, unknown targets fail with
// too_many_modems instead; a target listed under targets: still gets in.
// Simulators only: unlisted targets are auto-detected over the network.
func TestStateFloodKeepsRefusals(t *testing.T) {
	real := startSimModem(t, modemSpec{password: "the-real-one"})
	listed := startSimModem(t, modemSpec{})
	e := newStateEnv(t, real, stateConfig+`
  "`+listed.addr()+`":
    fingerprint: "`+listed.fingerprint()+`"
`, Options{MaxModems: 4}, nil)
	wantReason(t, "probe of the real modem", e.probe(Request{}), ReasonBadCredentials)
	var throwaway []testModem
	for i := 0; i < 6; i++ {
		throwaway = append(throwaway, startSimModem(t, modemSpec{password: "throwaway"}))
	}
	for i, m := range throwaway {
		res := e.probe(Request{Target: m.addr()})
		if i < 3 {
			wantReason(t, "throwaway probe", res, ReasonBadCredentials)
			continue
		}
		wantReason(t, "throwaway probe past the table's bound", res, ReasonTooManyModems)
		if n := len(m.modemStats().passwords); n != 0 {
			t.Errorf("a modem refused a slot in the state table saw %d logins", n)
		}
	}
	wantReason(t, "probe of the real modem after the flood", e.probe(Request{}), ReasonBackoff)
	if n := countOf(real.modemStats().passwords, statePassword); n != 1 {
		t.Fatalf("the real modem saw the refused password %d times, want 1", n)
	}
	wantReason(t, "probe of the listed modem", e.probe(Request{Target: listed.addr()}), "")
}

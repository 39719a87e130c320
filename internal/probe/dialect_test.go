package probe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

const dialectPassword = "probe-dialect-Pa55"

// countingProvider hands out the simulator's credentials and counts every
// look-up, so a test can prove an open modem caused none.
type countingProvider struct{ locates, fetches *atomic.Int32 }

func (countingProvider) Kind() string { return "counting" }
func (c countingProvider) Locate(r secrets.Request) (string, error) {
	c.locates.Add(1)
	return r.Target, nil
}
func (c countingProvider) Fetch(context.Context, string) (secrets.Result, error) {
	c.fetches.Add(1)
	return secrets.Result{Credentials: secrets.NewCredentials("admin", dialectPassword)}, nil
}

// dialectEnv is a prober and a snapshot whose default profile counts its
// look-ups, with targets: written by the test.
func dialectEnv(t *testing.T, targets string) (*Prober, *Snapshot, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	cfg, err := config.Parse([]byte("auths:\n  default: {counting: {}}\ntargets:\n" + targets))
	if err != nil {
		t.Fatal(err)
	}
	locates, fetches := &atomic.Int32{}, &atomic.Int32{}
	reg := secrets.NewRegistry()
	reg.Register("counting", secrets.Kind{Local: true, New: func(secrets.Options) (secrets.Provider, error) {
		return countingProvider{locates, fetches}, nil
	}})
	s, err := Build(cfg, reg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{}), s, locates, fetches
}

func startDialectSim(t *testing.T, cfg modemsim.Config) *modemsim.Simulator {
	t.Helper()
	cfg.Password = dialectPassword
	return testkit.StartSim(t, cfg)
}

// exposition renders a result's metrics as "name{labels} value" lines.
func exposition(t *testing.T, r *Result) string {
	t.Helper()
	mfs, err := r.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue()
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			}
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

func probeOnce(t *testing.T, p *Prober, s *Snapshot, target string) (*Result, string) {
	t.Helper()
	plan, err := NewPlan(s, Request{Target: target, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Probe(context.Background(), plan)
	return r, exposition(t, r)
}

// TestProbeEachDialect: every dialect, given or detected, yields the
// channel metrics and names itself; an open modem causes no credential
// look-up and receives no login request.
func TestProbeEachDialect(t *testing.T) {
	tests := []struct {
		name       string
		sim        modemsim.Config
		dialect    string // the target's dialect: key ("" = auto)
		extra      string
		want       string
		lookups    bool
		loginsSeen int
	}{
		{"cgn given", modemsim.Config{}, "cgn", "", "cgn", true, 1},
		{"cgn detected", modemsim.Config{}, "", "", "cgn", true, 1},
		{"open given", modemsim.Config{Dialect: "open", DataSet: "CODA-56"}, "open", "", "open", false, 0},
		{"open detected", modemsim.Config{Dialect: "open", DataSet: "CODA-45"}, "", "", "open", false, 0},
		{"coda-userid pws", modemsim.Config{Dialect: "coda-userid"}, "coda-userid", "", "coda-userid", true, 1},
		{"coda-userid pwd", modemsim.Config{Dialect: "coda-userid", PasswordField: "pwd"}, "coda-userid", "    password_field: pwd\n", "coda-userid", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startDialectSim(t, tt.sim)
			entry := fmt.Sprintf("  %q:\n    fingerprint: %q\n", sim.Addr(), sim.Fingerprint().String())
			if tt.dialect != "" {
				entry += "    dialect: " + tt.dialect + "\n"
			}
			p, s, locates, fetches := dialectEnv(t, entry+tt.extra)
			for i := 0; i < 2; i++ { // the second auto probe uses the remembered dialect
				r, body := probeOnce(t, p, s, sim.Addr())
				if !r.Success {
					t.Fatalf("probe %d failed: %s %v\n%s", i, r.Reason, r.Err, r.Trace)
				}
				for _, line := range []string{`hitron_modem_dialect_info{dialect="` + tt.want + `"} 1`, `probe_success{} 1`, `hitron_tls_insecure{} 0`} {
					if !strings.Contains(body, line) {
						t.Fatalf("probe %d: no %s in\n%s", i, line, body)
					}
				}
				if !strings.Contains(body, "hitron_downstream_power_dbmv{") {
					t.Fatalf("no channel metrics:\n%s", body)
				}
				if !tt.lookups && !strings.Contains(body, `hitron_credential_source_info{profile="",source="none"} 1`) {
					t.Fatalf("an open modem names a credential source:\n%s", body)
				}
				if i == 1 && tt.dialect == "" && !strings.Contains(r.Trace.String(), "remembered") {
					t.Fatalf("the second probe detected again:\n%s", r.Trace)
				}
			}
			st := sim.Stats()
			if tt.lookups != (locates.Load() > 0 && fetches.Load() > 0) {
				t.Fatalf("credential look-ups: %d locates, %d fetches", locates.Load(), fetches.Load())
			}
			if st.LoginRequests != 2*tt.loginsSeen || st.SessionActive {
				t.Fatalf("login requests %d (want %d), session left %v", st.LoginRequests, 2*tt.loginsSeen, st.SessionActive)
			}
		})
	}
}

// TestAutoDialectFollowsAFirmwareChange: a modem remembered as open that
// starts to redirect its pages fails once (not_logged_in), and the next
// probe detects cgn and logs in; a pin change forgets the memory too.
func TestAutoDialectFollowsAFirmwareChange(t *testing.T) {
	open := startDialectSim(t, modemsim.Config{Dialect: "open", DataSet: "CODA-56"})
	p, s, _, fetches := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n", open.Addr(), open.Fingerprint().String()))
	if r, _ := probeOnce(t, p, s, open.Addr()); !r.Success {
		t.Fatalf("open probe: %s %v", r.Reason, r.Err)
	}
	open.SetFault(modemsim.FaultLostSession) // the pages now want a session
	r, _ := probeOnce(t, p, s, open.Addr())
	if r.Reason != ReasonNotLoggedIn || !strings.Contains(r.Trace.String(), "detects the dialect again") {
		t.Fatalf("probe after the change: %s %v\n%s", r.Reason, r.Err, r.Trace)
	}
	if fetches.Load() != 0 {
		t.Fatal("credentials fetched for an open modem")
	}
	open.SetFault(modemsim.FaultNone)
	r, _ = probeOnce(t, p, s, open.Addr())
	if !r.Success || !strings.Contains(r.Trace.String(), "dialect open (detected)") {
		t.Fatalf("probe after recovery: %s %v\n%s", r.Reason, r.Err, r.Trace)
	}

	d := p.device(open.Addr())
	d.rememberDialect("cgn", "another pin")
	if got := d.knownDialect(open.Fingerprint().String()); got != "" {
		t.Fatalf("a dialect found under another pin is used: %q", got)
	}
}

// TestUnknownDialect: a modem that sets no preSession and wants a session
// for its pages (a CODA-4582U probed with auto) fails with bad_response and
// is sent no credentials.
func TestUnknownDialect(t *testing.T) {
	sim := startDialectSim(t, modemsim.Config{Dialect: "coda-userid"})
	p, s, _, fetches := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n", sim.Addr(), sim.Fingerprint().String()))
	r, body := probeOnce(t, p, s, sim.Addr())
	if r.Reason != ReasonBadResponse || !strings.Contains(r.Err.Error(), "coda-userid") {
		t.Fatalf("probe: %s %v", r.Reason, r.Err)
	}
	if !strings.Contains(body, `hitron_modem_dialect_info{dialect="auto"} 1`) {
		t.Fatalf("no dialect info:\n%s", body)
	}
	if fetches.Load() != 0 || sim.Stats().LoginRequests != 0 {
		t.Fatalf("credentials fetched (%d) or sent (%d)", fetches.Load(), sim.Stats().LoginRequests)
	}
}

// TestInsecureHTTPProbe: an insecure_http target is probed without TLS and
// says so, in a dialect without login and in one with (the local profile
// does not require a fingerprint).
func TestInsecureHTTPProbe(t *testing.T) {
	tests := []struct {
		sim     modemsim.Config
		dialect string
		lookups bool
	}{
		{modemsim.Config{Dialect: "open", DataSet: "CODA-56", PlainHTTP: true}, "open", false},
		{modemsim.Config{Dialect: "coda-userid", PlainHTTP: true}, "coda-userid", true},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			sim := startDialectSim(t, tt.sim)
			p, s, locates, _ := dialectEnv(t, fmt.Sprintf("  %q:\n    insecure_http: true\n    dialect: %s\n", sim.URL(), tt.dialect))
			r, body := probeOnce(t, p, s, sim.URL())
			if !r.Success || !strings.Contains(body, "hitron_tls_insecure{} 1") {
				t.Fatalf("probe: %s %v\n%s", r.Reason, r.Err, body)
			}
			if (locates.Load() > 0) != tt.lookups {
				t.Fatalf("%d credential look-ups", locates.Load())
			}
			if st := sim.Stats(); st.PasswordElsewhere != 0 || st.SessionActive {
				t.Fatalf("password elsewhere %d, session left %v", st.PasswordElsewhere, st.SessionActive)
			}
		})
	}
}

// TestDetectedDialectIsPerTarget: two targets dialled at one address under
// one certificate (a front end that routes by name) do not inherit each
// other's detected dialect: each detects its own.
func TestDetectedDialectIsPerTarget(t *testing.T) {
	sim := startDialectSim(t, modemsim.Config{})
	fp := sim.Fingerprint().String()
	_, port, _ := strings.Cut(sim.Addr(), ":")
	other := "127.0.0.2:" + port
	p, s, _, _ := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n  %q:\n    address: %q\n    fingerprint: %q\n",
		sim.Addr(), fp, other, sim.Addr(), fp))
	for i, target := range []string{sim.Addr(), other, other} {
		r, _ := probeOnce(t, p, s, target)
		if !r.Success {
			t.Fatalf("probe %d of %s: %s %v\n%s", i, target, r.Reason, r.Err, r.Trace)
		}
		want := "dialect cgn (detected)"
		if i == 2 {
			want = "dialect cgn (remembered"
		}
		if !strings.Contains(r.Trace.String(), want) {
			t.Fatalf("probe %d of %s: no %q in the trace:\n%s", i, target, want, r.Trace)
		}
	}
}

// TestFirmwareWithoutLogout: a coda-userid modem that answers the logout
// with 404 is reported as having no logout: hitron_probe_logout_success is
// left out (neither a logout nor a failed one), the counter says
// unsupported, and the next probe does not try to log a stale session out.
func TestFirmwareWithoutLogout(t *testing.T) {
	sim := startDialectSim(t, modemsim.Config{Dialect: "coda-userid"})
	sim.SetFault(modemsim.FaultNoLogout)
	p, s, _, _ := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n    dialect: coda-userid\n", sim.Addr(), sim.Fingerprint().String()))
	for i := range 2 {
		r, body := probeOnce(t, p, s, sim.Addr())
		if !r.Success {
			t.Fatalf("probe %d: %s %v\n%s", i, r.Reason, r.Err, r.Trace)
		}
		if strings.Contains(body, "hitron_probe_logout_success") {
			t.Fatalf("probe %d claims a logout result:\n%s", i, body)
		}
		if !strings.Contains(r.Trace.String(), "the firmware has no logout") || strings.Contains(r.Trace.String(), "failed earlier") {
			t.Fatalf("probe %d trace:\n%s", i, r.Trace)
		}
	}
	if got := testutil.ToFloat64(p.metrics.logouts.WithLabelValues("unsupported")); got != 2 {
		t.Fatalf("unsupported logouts %v, want 2", got)
	}
}

// TestUnreadableRESTRefusalIsNotResent: a REST modem that turns the login
// down in words the exporter cannot read (an unknown code, "please login",
// a 401) may have refused the password: it is not sent again on the next
// probes (the doubling back-off of a lost answer), as a recognised wrong
// password is not.
func TestUnreadableRESTRefusalIsNotResent(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"unknown code", 200, `{"errCode":"001","errMsg":"Login failed."}`},
		{"please login again", 200, `{"errCode":"001","errMsg":"Incorrect password, please login again."}`},
		{"an error result", 200, `{"errCode":"000","result":"Error_Pwd_Wrong"}`},
		{"401 with an envelope", 401, `{"errCode":"401","errMsg":"Unauthorized"}`},
		{"401 without one", 401, `no`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logins atomic.Int32
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == hitron.RESTLoginPath {
					logins.Add(1)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			sum := sha256.Sum256(srv.Certificate().Raw)
			addr := strings.TrimPrefix(srv.URL, "https://")
			p, s, _, _ := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n    dialect: rest\n", addr, hex.EncodeToString(sum[:])))
			for i := range 4 {
				r, _ := probeOnce(t, p, s, addr)
				want := ReasonBackoff
				if i == 0 {
					want = r.Reason // whatever the first refusal is called, it is a failure
				}
				if r.Success || r.Reason != want {
					t.Fatalf("probe %d: success %v, reason %q, want %q (%v)", i, r.Success, r.Reason, want, r.Err)
				}
			}
			if n := logins.Load(); n != 1 {
				t.Fatalf("the password was sent %d times in 4 probes, want 1", n)
			}
		})
	}
}

// TestMissingPageHasNoCollectorSeries: a page the firmware answers with
// 404 (the CGNV4-FX4 has no OFDM page) is not a collector of the probe, so
// it has neither a success nor a duration series; a page read has both.
func TestMissingPageHasNoCollectorSeries(t *testing.T) {
	sim := startDialectSim(t, modemsim.Config{DataSet: "CGNV4-FX4"})
	_, snap, _, _ := dialectEnv(t, fmt.Sprintf("  %q:\n    fingerprint: %q\n    dialect: cgn\n", sim.Addr(), sim.Fingerprint().String()))
	_, body := probeOnce(t, New(Options{}), snap, sim.Addr())
	tests := []struct {
		series string
		want   bool
	}{
		{`hitron_scrape_collector_success{collector="dsinfo"} 1`, true},
		{`hitron_scrape_collector_duration_seconds{collector="dsinfo"} `, true},
		{`hitron_scrape_collector_success{collector="dsofdminfo"}`, false},
		{`hitron_scrape_collector_duration_seconds{collector="dsofdminfo"}`, false},
	}
	for _, tt := range tests {
		if got := strings.Contains(body, tt.series); got != tt.want {
			t.Errorf("%s in the answer: %v, want %v\n%s", tt.series, got, tt.want, body)
		}
	}
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
)

// faultCase is one row of the fault matrix.
type faultCase struct {
	name string
	// sim is the modem the probe talks to (nil: nothing simulated listens).
	sim    *modemsim.Simulator
	query  string
	header map[string]string
	// setup switches the fault on just before the probe.
	setup func(t *testing.T)
	// reason is the wanted hitron_probe_failure_info reason ("" = success).
	reason string
	// debugReason is the reason of the second (debug) probe when it
	// differs (back-off after a rejected password); default reason.
	debugReason string
	// within bounds the probe's answer time (default 5 s).
	within time.Duration
	// fetchError is the credential_fetch_errors_total series that must grow.
	fetchError string
	// untouched: the modem must receive no request at all.
	untouched bool
	// sessionKept: a session stays on the modem after the case, not the
	// exporter's (a person's, or one the modem refused to log out).
	sessionKept bool
	// check runs on the first probe's answer; after runs after the debug probe.
	check func(t *testing.T, body string)
	after func(t *testing.T)
	// recover, when set, switches the fault off and shows the same modem
	// probes fine again.
	recover func(t *testing.T)
	// dialects limits the case to these login dialects (nil: every one).
	dialects []string
}

// matrixDialects are the dialects the fault matrix runs in: auto (the
// targets name none, and the simulated modems speak cgn), then each one
// given explicitly to modems speaking it.
var matrixDialects = []string{hitron.DialectAuto, hitron.DialectCGN, hitron.DialectOpen, hitron.DialectCODAUserID, hitron.DialectREST}

// TestFaultMatrix runs every fault of the simulated modem and every failure
// mode of the credential providers through the real binary, in every login
// dialect, and checks that each ends with the right reason, frees the
// modem's session, leaks no secret and leaves the exporter serving.
func TestFaultMatrix(t *testing.T) {
	for _, dialect := range matrixDialects {
		t.Run("dialect="+dialect, func(t *testing.T) { faultMatrix(t, dialect) })
	}
}

// faultMatrix is the fault matrix with modems speaking dialect (cgn for
// auto) and targets configured with it.
func faultMatrix(t *testing.T, dialect string) {
	begin := time.Now()
	simDialect, dataSet := dialect, ""
	switch dialect {
	case hitron.DialectAuto:
		simDialect = modemsim.DialectCGN
	case hitron.DialectOpen:
		dataSet = "CODA-56"
	case hitron.DialectREST:
		dataSet = modemsim.DefaultRESTDataSet
	}
	dir := t.TempDir()

	// Vault: one server, one profile (and token) per failure mode.
	v := vaultenv.Start(t)
	v.WriteSecret(t, "secret", 2, "hitron/127.0.0.1", map[string]any{"username": "admin", "password": modemPassword})
	v.PutPolicy(t, "hitron-read", vaultenv.ReadPolicy("secret/data/hitron/*"))
	v.PutPolicy(t, "other-read", vaultenv.ReadPolicy("secret/data/other/*"))
	tokens := map[string]string{
		"vault-ok":        v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}}),
		"vault-sealed":    v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}}),
		"vault-forbidden": v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"other-read"}}),
		"vault-revoked":   v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}}),
		"vault-expired":   v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}, TTL: "2s", NotRenewable: true}),
		"vault-down":      "hvs.nothing-listens-" + vaultenv.RandomString(8),
	}
	const malformedPassword = "malformed-Pa55-never-shown"
	const otherModemPassword = "the-modem-has-another-Pa55"
	secretList := []string{modemPassword, malformedPassword, otherModemPassword, v.RootToken}
	for _, tok := range tokens {
		secretList = append(secretList, tok)
	}

	// Modems: one per fault, so that per-device state never crosses cases.
	sim := func(cfg modemsim.Config) *modemsim.Simulator {
		if cfg.Password == "" {
			cfg.Password = modemPassword
		}
		cfg.Dialect, cfg.DataSet = simDialect, dataSet
		return testkit.StartSim(t, cfg)
	}
	healthy := sim(modemsim.Config{})
	slow := sim(modemsim.Config{SlowDelay: time.Minute})
	garbage := sim(modemsim.Config{})
	truncated := sim(modemsim.Config{})
	oversized := sim(modemsim.Config{}) // OversizedBytes: the default 100 MB
	status500 := sim(modemsim.Config{})
	lost := sim(modemsim.Config{})
	noPre := sim(modemsim.Config{})
	logoutFail := sim(modemsim.Config{SessionIdle: time.Second})
	busy := sim(modemsim.Config{})
	locked := sim(modemsim.Config{LockAfter: 2, LockFor: time.Minute})
	wrongPassword := sim(modemsim.Config{Password: otherModemPassword})
	wrongPin := sim(modemsim.Config{})
	credsModem := sim(modemsim.Config{})
	restError := sim(modemsim.Config{})
	closedAddr := testkit.MustFreeAddr(t)
	closer, junk, plainHTTP, tls10 := notTLSEndpoints(t)

	// Configuration: every modem pinned; wrongPin pinned to another one.
	var cfg strings.Builder
	credsFile := testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	missingFile := testkit.WriteFile(t, filepath.Join(dir, "credentials-missing.yml"), "username: admin\npassword: "+modemPassword+"\n")
	malformedFile := testkit.WriteFile(t, filepath.Join(dir, "credentials-malformed.yml"), "username: admin\npassword: "+modemPassword+"\n")
	fmt.Fprintf(&cfg, "auths:\n  default:\n    file:\n      path: %s\n", credsFile)
	fmt.Fprintf(&cfg, "  file-missing:\n    file:\n      path: %s\n", missingFile)
	fmt.Fprintf(&cfg, "  file-malformed:\n    file:\n      path: %s\n", malformedFile)
	for _, name := range []string{"vault-ok", "vault-sealed", "vault-forbidden", "vault-revoked", "vault-expired", "vault-down"} {
		addr := v.Addr
		if name == "vault-down" {
			addr = vaultenv.ClosedAddr(t)
		}
		tokenFile := testkit.WriteFile(t, filepath.Join(dir, name+".token"), tokens[name])
		fmt.Fprintf(&cfg, "  %s:\n    vault:\n      address: %s\n      auth:\n        method: token\n        token_file: %s\n"+
			"      mount: secret\n      kv_version: 2\n      path: \"hitron/{{ .Host }}\"\n", name, addr, tokenFile)
	}
	cfg.WriteString("targets:\n")
	pinned := func(addr string, fp pin.Fingerprint) {
		fmt.Fprintf(&cfg, "  %q:\n    fingerprint: %q\n", addr, fp.String())
		if dialect != hitron.DialectAuto {
			fmt.Fprintf(&cfg, "    dialect: %s\n", dialect)
		}
	}
	modems := []*modemsim.Simulator{healthy, slow, garbage, truncated, oversized, status500, lost, noPre, logoutFail, busy, locked, wrongPassword, credsModem, restError}
	for _, s := range modems {
		pinned(s.Addr(), s.Fingerprint())
	}
	pinned(wrongPin.Addr(), healthy.Fingerprint())
	for _, addr := range []string{closedAddr, closer, junk, plainHTTP, tls10} {
		pinned(addr, healthy.Fingerprint())
	}
	cfgPath := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), cfg.String())

	e := startExporter(t, secretList, "--config.file="+cfgPath)
	pid := e.cmd.Process.Pid
	setupDone := time.Since(begin)

	probeOK := func(t *testing.T, s *modemsim.Simulator, extra string) {
		t.Helper()
		code, body := e.fetch(t, "/probe?target="+s.Addr()+extra, nil)
		if code != http.StatusOK || !testkit.HasLine(body, "probe_success 1") || len(samples(body, "hitron_probe_failure_info")) != 0 {
			t.Fatalf("probe of a healthy modem (%s%s): HTTP %d\n%s", s.Addr(), extra, code, body)
		}
		if s.Stats().SessionActive {
			t.Fatalf("the healthy modem %s still has a session after a successful probe", s.Addr())
		}
	}
	// Warm-up: the set-up works (file and Vault), and a baseline for the
	// exporter's goroutines once its connections and watchers exist.
	probeOK(t, healthy, "")
	probeOK(t, healthy, "&auth=vault-ok")
	if dialect == hitron.DialectAuto {
		// The credential cases' modem is known (its dialect remembered), so
		// a probe that cannot have credentials leaves it untouched.
		probeOK(t, credsModem, "")
		credsModem.ResetStats()
	}
	baseline := e.goroutines(t)

	faultOff := func(s *modemsim.Simulator) func(t *testing.T) {
		return func(t *testing.T) {
			s.SetFault(modemsim.FaultNone)
			probeOK(t, s, "")
		}
	}
	fault := func(s *modemsim.Simulator, f modemsim.Fault) func(t *testing.T) {
		return func(*testing.T) { s.SetFault(f) }
	}
	credsQuery := func(profile string) string { return "target=" + credsModem.Addr() + "&auth=" + profile }
	var lockedBefore int
	credentialDialects := []string{hitron.DialectAuto, hitron.DialectCGN, hitron.DialectCODAUserID, hitron.DialectREST}

	cases := []faultCase{
		{
			name: "modem slow, 3 s scrape timeout", sim: slow, query: "target=" + slow.Addr(),
			header: map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "3"},
			setup:  fault(slow, modemsim.FaultSlow), reason: "timeout", within: 3 * time.Second,
			check: func(t *testing.T, body string) {
				if !testkit.HasLine(body, "probe_timeout_seconds 2.5") {
					t.Errorf("probe_timeout_seconds is not the 3 s budget minus the 0.5 s offset")
				}
			},
			recover: faultOff(slow),
		},
		{name: "modem unreachable (closed port)", query: "target=" + closedAddr, reason: "connect"},
		// A TCP connection is made and the TLS handshake fails: reason tls
		// (docs/operations.md: connect = no TCP connection).
		{name: "TLS: peer closes at once", query: "target=" + closer, reason: "tls"},
		{name: "TLS: peer answers non-TLS bytes", query: "target=" + junk, reason: "tls"},
		{name: "TLS: plain HTTP server", query: "target=" + plainHTTP, reason: "tls"},
		{name: "TLS: server only speaks TLS 1.0", query: "target=" + tls10, reason: "tls"},
		{
			name: "wrong pin", sim: wrongPin, query: "target=" + wrongPin.Addr(), reason: "pin_mismatch", untouched: true,
			check: func(t *testing.T, body string) {
				if !testkit.HasLine(body, "hitron_tls_pin_match 0") || !strings.Contains(body, strings.ToLower(wrongPin.Fingerprint().String())) {
					t.Errorf("the pin mismatch and the observed fingerprint are not shown:\n%s", body)
				}
			},
		},
		{name: "garbage JSON", sim: garbage, query: "target=" + garbage.Addr(), setup: fault(garbage, modemsim.FaultGarbage), reason: "bad_response", recover: faultOff(garbage)},
		{name: "truncated body", sim: truncated, query: "target=" + truncated.Addr(), setup: fault(truncated, modemsim.FaultTruncated), reason: "bad_response", recover: faultOff(truncated)},
		{
			name: "100 MB body", sim: oversized, query: "target=" + oversized.Addr(), setup: fault(oversized, modemsim.FaultOversized), reason: "too_large",
			after: func(t *testing.T) {
				if !strings.Contains(e.out.String(), "response body exceeds the size limit") {
					t.Error("the log does not say the bodies were cut at the size limit")
				}
				hwm := vmHWM(t, pid)
				t.Logf("exporter peak RSS (VmHWM) after the 100 MB bodies: %.1f MiB", float64(hwm)/(1<<20))
				if hwm > 100<<20 {
					t.Errorf("the exporter's peak RSS reached %.1f MiB reading oversized bodies (limit 100 MiB)", float64(hwm)/(1<<20))
				}
			},
			recover: faultOff(oversized),
		},
		{name: "HTTP 500", sim: status500, query: "target=" + status500.Addr(), setup: fault(status500, modemsim.FaultHTTP500), reason: "http_status", recover: faultOff(status500)},
		{name: "302 mid-probe (session lost)", sim: lost, query: "target=" + lost.Addr(), setup: fault(lost, modemsim.FaultLostSession), reason: "not_logged_in", recover: faultOff(lost)},
		{name: "no preSession cookie", dialects: []string{hitron.DialectAuto, hitron.DialectCGN}, sim: noPre, query: "target=" + noPre.Addr(), setup: fault(noPre, modemsim.FaultLoginPage), reason: "bad_response", recover: faultOff(noPre)},
		{
			name: "Repeat Login", dialects: []string{hitron.DialectAuto, hitron.DialectCGN}, sim: busy, query: "target=" + busy.Addr(), setup: func(*testing.T) { busy.OpenForeignSession() },
			reason: "session_busy", sessionKept: true,
			after: func(t *testing.T) {
				st := busy.Stats()
				if st.Logins != 0 || st.RepeatLogins != 2 {
					t.Errorf("logins %d, Repeat Login answers %d: want 0 and 2 (the exporter must not take over the session)", st.Logins, st.RepeatLogins)
				}
				for _, a := range st.LoginAttempts {
					if a.Force {
						t.Error("the exporter sent forcelogoff=1 without force")
					}
				}
			},
			recover: func(t *testing.T) { probeOK(t, busy, "&force=1") },
		},
		{
			// The REST family has no forcelogoff: another session is
			// session_busy, answered by errCode 003, and left alone.
			name: "REST: another session is logged in", dialects: []string{hitron.DialectREST}, sim: busy, query: "target=" + busy.Addr(),
			setup: func(*testing.T) { busy.OpenForeignSession() }, reason: "session_busy", sessionKept: true,
			after: func(t *testing.T) {
				if st := busy.Stats(); st.Logins != 0 || st.RepeatLogins != 2 {
					t.Errorf("logins %d, busy answers %d: want 0 and 2", st.Logins, st.RepeatLogins)
				}
			},
		},
		{
			// A failure code other than a wrong password, a busy or a lost
			// session: its own reason, not a parse error; the session is
			// logged out.
			name: "REST: errCode 099 on the pages", dialects: []string{hitron.DialectREST}, sim: restError, query: "target=" + restError.Addr(),
			setup: fault(restError, modemsim.FaultRESTError), reason: "modem_error",
			after: func(t *testing.T) {
				if st := restError.Stats(); st.Logouts != st.Logins || st.Logins == 0 {
					t.Errorf("%d logins, %d logouts: every session must be logged out", st.Logins, st.Logouts)
				}
			},
			recover: faultOff(restError),
		},
		{
			name: "LoginProtect", dialects: []string{hitron.DialectAuto, hitron.DialectCGN}, sim: locked, query: "target=" + locked.Addr(), reason: "locked_out",
			setup: func(t *testing.T) {
				// Someone else guesses wrong passwords until the modem locks.
				c, err := hitron.New(hitron.Options{BaseURL: &url.URL{Scheme: "https", Host: locked.Addr()}, TLS: pin.ClientConfig(pin.Options{Pin: pin.Require(locked.Fingerprint())})})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				for i := 0; i < 2; i++ {
					_, _ = c.Login(context.Background(), hitron.CGN{}, hitron.Credentials{Username: "admin", Password: fmt.Sprintf("guess-%d", i)})
				}
				lockedBefore = len(locked.Stats().LoginAttempts)
				if got := locked.Stats().LoginAttempts[lockedBefore-1].Result; !strings.HasPrefix(got, "LoginProtect=") {
					t.Fatalf("the modem is not locked: %q", got)
				}
			},
			after: func(t *testing.T) {
				if got := len(locked.Stats().LoginAttempts) - lockedBefore; got != 1 {
					t.Errorf("%d logins reached the locked modem, want 1 (the one that learnt of the lock-out)", got)
				}
			},
		},
		{
			name: "wrong password", dialects: []string{hitron.DialectAuto, hitron.DialectCGN, hitron.DialectCODAUserID, hitron.DialectREST}, sim: wrongPassword, query: "target=" + wrongPassword.Addr(), reason: "bad_credentials", debugReason: "backoff",
			after: func(t *testing.T) {
				if n := len(wrongPassword.Stats().LoginAttempts); n != 1 {
					t.Errorf("the modem saw %d logins with a rejected password, want 1", n)
				}
			},
		},
		{
			name: "logout fails", dialects: []string{hitron.DialectAuto, hitron.DialectCGN, hitron.DialectREST}, sim: logoutFail, query: "target=" + logoutFail.Addr(), setup: fault(logoutFail, modemsim.FaultLogoutFail),
			// The modem refused the logout and keeps the session. The next
			// probe logs that session out first (by its own cookies); while
			// the modem still refuses, it meets Repeat Login. Nobody's session
			// is forced out.
			sessionKept: true, debugReason: "session_busy",
			after: func(t *testing.T) {
				if !strings.Contains(e.out.String(), "logout failed") {
					t.Error("the failed logout is not logged")
				}
				for _, a := range logoutFail.Stats().LoginAttempts {
					if a.Force {
						t.Error("the exporter forced a session out (forcelogoff=1) on its own")
					}
				}
			},
			recover: func(t *testing.T) {
				logoutFail.SetFault(modemsim.FaultNone)
				probeOK(t, logoutFail, "")
				if logoutFail.Stats().SessionActive {
					t.Error("the stale session was not logged out")
				}
			},
		},
		{
			name: "credentials file missing", dialects: credentialDialects, sim: credsModem, query: credsQuery("file-missing"), reason: "credentials", untouched: true,
			setup:      func(t *testing.T) { must(t, os.Remove(missingFile)) },
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="file-missing",provider="file",reason="not_found"}`,
		},
		{
			name: "credentials file malformed", dialects: credentialDialects, sim: credsModem, query: credsQuery("file-malformed"), reason: "credentials", untouched: true,
			setup: func(t *testing.T) {
				must(t, os.WriteFile(malformedFile, []byte("username: admin\npassword: ["+malformedPassword+"\n  - {\n"), 0o600))
			},
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="file-malformed",provider="file",reason="invalid_secret"}`,
		},
		{
			name: "Vault down", dialects: credentialDialects, sim: credsModem, query: credsQuery("vault-down"), reason: "credentials", untouched: true,
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="vault-down",provider="vault",reason="backend_unavailable"}`,
		},
		{
			name: "Vault 403 (policy does not cover the path)", dialects: credentialDialects, sim: credsModem, query: credsQuery("vault-forbidden"), reason: "credentials", untouched: true,
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="vault-forbidden",provider="vault",reason="permission_denied"}`,
		},
		{
			name: "Vault token revoked", dialects: credentialDialects, sim: credsModem, query: credsQuery("vault-revoked"), reason: "credentials", untouched: true,
			setup:      func(t *testing.T) { v.RevokeToken(t, tokens["vault-revoked"]) },
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="vault-revoked",provider="vault",reason="backend_auth_failed"}`,
		},
		{
			name: "Vault token expired", dialects: credentialDialects, sim: credsModem, query: credsQuery("vault-expired"), reason: "credentials", untouched: true,
			setup: func(t *testing.T) {
				c := v.Client(t)
				vaultenv.WaitFor(t, 10*time.Second, "the 2 s token to expire", func() bool {
					_, err := c.Auth().Token().LookupWithContext(context.Background(), tokens["vault-expired"])
					return err != nil
				})
			},
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="vault-expired",provider="vault",reason="backend_auth_failed"}`,
		},
		// Last of the Vault cases: it seals the shared server.
		{
			name: "Vault sealed", dialects: credentialDialects, sim: credsModem, query: credsQuery("vault-sealed"), reason: "credentials", untouched: true,
			setup:      func(t *testing.T) { v.Seal(t) },
			fetchError: `hitron_exporter_credential_fetch_errors_total{profile="vault-sealed",provider="vault",reason="backend_unavailable"}`,
		},
		{
			// The CODA-4582U session is ended by POST /goform/logout; when
			// the modem refuses it, the next probe tries that session's
			// logout first and logs in anyway (no session limit is known
			// on this family).
			name: "logout fails (coda-userid)", dialects: []string{hitron.DialectCODAUserID}, sim: logoutFail,
			query: "target=" + logoutFail.Addr(), setup: fault(logoutFail, modemsim.FaultLogoutFail), sessionKept: true,
			after: func(t *testing.T) {
				if !strings.Contains(e.out.String(), "logout failed") {
					t.Error("the failed logout is not logged")
				}
			},
			recover: func(t *testing.T) {
				logoutFail.SetFault(modemsim.FaultNone)
				probeOK(t, logoutFail, "")
				if logoutFail.Stats().SessionActive {
					t.Error("the session was not logged out")
				}
			},
		},
		{
			// An open modem needs no credentials: a profile whose broker is
			// down does not matter, and the modem gets no login request.
			name: "open: a broken profile is never asked", dialects: []string{hitron.DialectOpen}, sim: credsModem,
			query: credsQuery("vault-down"),
			after: func(t *testing.T) {
				if st := credsModem.Stats(); st.LoginRequests != 0 || st.DataRequests == 0 {
					t.Errorf("login requests %d, data requests %d: want none and some", st.LoginRequests, st.DataRequests)
				}
			},
		},
	}

	type timing struct {
		name, reason string
		took         time.Duration
	}
	var timings []timing
	for _, c := range cases {
		if c.dialects != nil && !slices.Contains(c.dialects, dialect) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			logFrom := len(e.out.String())
			if c.setup != nil {
				c.setup(t)
			}
			_, before := e.fetch(t, "/metrics", nil)

			start := time.Now()
			code, body := e.fetch(t, "/probe?"+c.query, c.header)
			took := time.Since(start)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d, want 200:\n%s", code, body)
			}
			within := c.within
			if within == 0 {
				within = 5 * time.Second
			}
			if took > within {
				t.Errorf("the probe took %s, want at most %s", took, within)
			}
			got := c.checkOutcome(t, body)
			timings = append(timings, timing{c.name, got, took})
			if c.check != nil {
				c.check(t, body)
			}

			// The same probe with debug=true: trace and metrics, no secret.
			code, debug := e.fetch(t, "/probe?"+c.query+"&debug=true", c.header)
			if code != http.StatusOK || !strings.Contains(debug, "Trace:") {
				t.Fatalf("debug probe: HTTP %d\n%s", code, debug)
			}
			debugReason := c.debugReason
			if debugReason == "" {
				debugReason = got
			}
			if debugReason == "" {
				if strings.Contains(debug, "FAILED") || !testkit.HasLine(debug, "probe_success 1") {
					t.Errorf("debug probe did not succeed:\n%s", debug)
				}
			} else if !strings.Contains(debug, "FAILED ("+debugReason+")") || !testkit.HasLine(debug, `hitron_probe_failure_info{reason="`+debugReason+`"} 1`) {
				t.Errorf("debug probe does not show reason %s:\n%s", debugReason, debug)
			}
			if c.after != nil {
				c.after(t)
			}

			// The exporter's own metrics count the failure by reason.
			_, metrics := e.fetch(t, "/metrics", nil)
			if got != "" {
				series := `hitron_exporter_probes_total{reason="` + got + `",result="failure"}`
				b, _ := metricValue(before, series)
				a, _ := metricValue(metrics, series)
				if a < b+1 {
					t.Errorf("%s went from %v to %v", series, b, a)
				}
			}
			if c.fetchError != "" {
				b, _ := metricValue(before, c.fetchError)
				a, ok := metricValue(metrics, c.fetchError)
				if !ok || a < b+1 {
					t.Errorf("%s went from %v to %v; the profile's fetch errors are:\n%s", c.fetchError, b, a,
						strings.Join(samples(metrics, c.fetchError[:strings.Index(c.fetchError, ",provider=")]), "\n"))
				}
				profile := c.fetchError[:strings.Index(c.fetchError, ",reason=")]
				if all := samples(metrics, profile); len(all) != 1 {
					t.Errorf("the profile has fetch errors with other reasons:\n%s", strings.Join(all, "\n"))
				}
			}

			// The log names the failure.
			log := e.out.String()[logFrom:]
			if got != "" && !strings.Contains(log, "reason="+got) {
				t.Errorf("the log has no line with reason=%s:\n%s", got, log)
			}

			// The modem's session is free (or held by someone else).
			if c.sim != nil {
				st := c.sim.Stats()
				if st.SessionActive != c.sessionKept {
					t.Errorf("modem session active = %v after the case, want %v", st.SessionActive, c.sessionKept)
				}
				if c.untouched && st.Requests != 0 {
					t.Errorf("the modem received %d requests, want none", st.Requests)
				}
			}

			// The exporter still serves, and shows no secret anywhere.
			if code, _ := e.fetch(t, "/-/healthy", nil); code != http.StatusOK {
				t.Errorf("/-/healthy = %d", code)
			}
			for _, p := range []string{"/config", "/"} {
				if code, _ := e.fetch(t, p, nil); code != http.StatusOK {
					t.Errorf("%s = %d", p, code)
				}
			}
			probeOK(t, healthy, "")
			if c.recover != nil {
				c.recover(t)
			}
		})
	}

	// No goroutine left behind by any case.
	now := e.goroutines(t)
	deadline := time.Now().Add(5 * time.Second)
	for now > baseline+5 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		now = e.goroutines(t)
	}
	if now > baseline+5 {
		t.Errorf("the exporter runs %v goroutines after the matrix, %v before", now, baseline)
	}

	var sum strings.Builder
	fmt.Fprintf(&sum, "set-up (Vault, %d modems, exporter): %s; goroutines %v before, %v after; peak RSS %.1f MiB\n",
		len(modems)+1, setupDone.Round(time.Millisecond), baseline, now, float64(vmHWM(t, pid))/(1<<20))
	for _, tm := range timings {
		r := tm.reason
		if r == "" {
			r = "(success)"
		}
		fmt.Fprintf(&sum, "  %-45s %-16s %s\n", tm.name, r, tm.took.Round(time.Millisecond))
	}
	fmt.Fprintf(&sum, "total %s", time.Since(begin).Round(time.Millisecond))
	t.Log("fault matrix:\n" + sum.String())
}

// checkOutcome asserts probe_success and the one failure reason of a probe
// answer, and returns the reason the exporter gave ("" on success).
func (c faultCase) checkOutcome(t *testing.T, body string) string {
	t.Helper()
	reasons := samples(body, "hitron_probe_failure_info")
	if c.reason == "" {
		if !testkit.HasLine(body, "probe_success 1") || len(reasons) != 0 {
			t.Fatalf("want probe_success 1 without a failure reason:\n%s", body)
		}
		return ""
	}
	if !testkit.HasLine(body, "probe_success 0") {
		t.Fatalf("want probe_success 0:\n%s", body)
	}
	if len(reasons) != 1 {
		t.Fatalf("want exactly one hitron_probe_failure_info, got %q:\n%s", reasons, body)
	}
	if reasons[0] == `hitron_probe_failure_info{reason="`+c.reason+`"} 1` {
		return c.reason
	}
	t.Fatalf("got %s, want reason %q", reasons[0], c.reason)
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

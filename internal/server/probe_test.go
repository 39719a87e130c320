package server

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

func TestProbeSuccessAndPins(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	body := e.probe("target=" + e.sim.Addr())
	wantLines(t, body,
		"probe_success 1",
		"hitron_tls_pin_match 1",
		"hitron_probe_logout_success 1",
		`hitron_channel_downstream_snr{channel="9",frequency="426250000",port="1"} 40.946`,
		`hitron_system_info{hardware_version="2D",model_name="CGNV4-FX4",serial_number="ABC123",software_version="4.5.10.201-CD-UPC"} 1`,
		`hitron_credential_source_info{profile="default",source="file"} 1`,
	)
	e.assertSessionFreed()
	st := e.sim.Stats()
	if st.Logins != 1 || st.Logouts != 1 {
		t.Fatalf("logins %d logouts %d", st.Logins, st.Logouts)
	}
	// An unconfigured spelling of the same modem with the right pin in the URL works.
	https := "https://" + e.sim.Addr()
	body = e.probe("target=" + url.QueryEscape(https) + "&fingerprint=" + strings.ReplaceAll(strings.ToLower(e.sim.Fingerprint().String()), ":", ""))
	wantLines(t, body, "probe_success 1", "hitron_tls_pin_match 1")
}

func TestWrongPinSendsNoPassword(t *testing.T) {
	other, err := modemsim.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	otherFP := pin.Of(other.Certificate[0]).String()
	tests := []struct {
		name, cfg, query string
		wantCode         int
	}{
		{"URL pin on an unconfigured target", "auths:\n  default:\n    file:\n      path: {{creds}}\n", "fingerprint=" + url.QueryEscape(otherFP), 200},
		{"configured pin", strings.Replace(pinnedConfig, "{{fp}}", otherFP, 1), "", 200},
		{"URL pin contradicting the configured one", pinnedConfig, "fingerprint=" + url.QueryEscape(otherFP), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{}, tt.cfg)
			code, body := e.get("/probe?target=" + e.sim.Addr() + "&" + tt.query)
			if code != tt.wantCode {
				t.Fatalf("HTTP %d: %s", code, body)
			}
			if code == 200 {
				wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="pin_mismatch"} 1`, "hitron_tls_pin_match 0")
				if !strings.Contains(body, strings.ToLower(e.sim.Fingerprint().String())) {
					t.Error("the observed fingerprint is not exposed")
				}
			}
			if st := e.sim.Stats(); st.Requests != 0 || len(st.LoginAttempts) != 0 {
				t.Fatalf("the modem received %d requests and %d logins over a mismatched pin", st.Requests, len(st.LoginAttempts))
			}
		})
	}
}

func TestEveryDataSet(t *testing.T) {
	for _, set := range modemsim.DataSets() {
		t.Run(set, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{DataSet: set}, pinnedConfig)
			body := e.probe("target=" + e.sim.Addr())
			wantLines(t, body, "probe_success 1")
			if !strings.Contains(body, "hitron_system_info{") {
				t.Error("no system info")
			}
			for _, bad := range []string{"NaN", "Inf"} {
				if strings.Contains(body, " "+bad) {
					t.Errorf("output holds %s", bad)
				}
			}
			e.assertSessionFreed()
		})
	}
}

func TestOddValuesAreDroppedNotZeroed(t *testing.T) {
	e := newEnv(t, modemsim.Config{DataSet: "odd-values"}, pinnedConfig)
	body := e.probe("target=" + e.sim.Addr())
	wantLines(t, body, "probe_success 1",
		`hitron_downstream_power_dbmv{channel="9",port="1"} -3.5`,
		`hitron_downstream_received_bytes_total{channel="9",port="1"} 1.3909909563e+10`,
		`hitron_system_uptime_seconds_total 1.06703999e+08`,
		`hitron_network_receive_bytes_total{device="wan"} 1.5e+12`,
	)
	for _, absent := range []string{`hitron_downstream_power_dbmv{channel="42",port="3"}`, `hitron_downstream_snr_db{channel="11",port="4"}`, `hitron_traffic_wan_sent_bytes_total`, `hitron_cm_dhcp_lease_seconds`} {
		if strings.Contains(body, absent) {
			t.Errorf("placeholder became a sample: %s", absent)
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault   modemsim.Fault
		reason  string
		success bool
		header  []string
	}{
		{modemsim.FaultGarbage, "bad_response", false, nil},
		{modemsim.FaultTruncated, "bad_response", false, nil},
		{modemsim.FaultOversized, "too_large", false, nil},
		{modemsim.FaultHTTP500, "http_status", false, nil},
		{modemsim.FaultLostSession, "not_logged_in", false, nil},
		{modemsim.FaultLoginPage, "bad_response", false, nil},
		{modemsim.FaultSlow, "timeout", false, []string{"X-Prometheus-Scrape-Timeout-Seconds", "2"}},
		{modemsim.FaultLogoutFail, "", true, nil},
		// A hostile server's: pages over the body limit, headers without
		// end, bytes dripped until the budget is spent, cookie floods.
		{modemsim.FaultAmplify, "too_large", false, nil},
		{modemsim.FaultEndlessHeaders, "too_large", false, nil},
		{modemsim.FaultDripBody, "timeout", false, []string{"X-Prometheus-Scrape-Timeout-Seconds", "2"}},
		{modemsim.FaultDripHeaders, "timeout", false, []string{"X-Prometheus-Scrape-Timeout-Seconds", "2"}},
		{modemsim.FaultCookieFlood, "too_large", false, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			e := newEnv(t, modemsim.Config{SlowDelay: time.Minute, OversizedBytes: 64 << 20}, pinnedConfig)
			e.sim.SetFault(tt.fault)
			start := time.Now()
			body := e.probe("target="+e.sim.Addr(), tt.header...)
			elapsed := time.Since(start)
			if tt.success {
				wantLines(t, body, "probe_success 1")
			} else if e.sim.Stats().Logins > 0 {
				wantLines(t, body, "probe_success 0", "hitron_probe_logout_success 1")
			} else {
				wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="`+tt.reason+`"} 1`)
			}
			if tt.header != nil && elapsed > 2*time.Second {
				t.Fatalf("probe took %s with a 2 s scrape timeout", elapsed)
			}
			if tt.fault == modemsim.FaultLogoutFail {
				// Every page was read: a success, with the refused logout
				// visible to monitoring (issue 11, item 7).
				wantLines(t, body, "hitron_probe_logout_success 0")
				if !strings.Contains(e.logs.String(), "logout failed") {
					t.Error("failed logout not logged")
				}
				return
			}
			// The session was freed (not applicable when no login happened).
			if e.sim.Stats().Logins > 0 {
				e.assertSessionFreed()
			}
			// The exporter still serves.
			e.sim.SetFault(modemsim.FaultNone)
			e.sim.Unlock()
			wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 1")
		})
	}
}

func TestRefusedRequests(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, `
auths:
  default:
    file:
      path: {{creds}}
  strict:
    file:
      path: {{creds}}
    require_fingerprint: true
  limited:
    file:
      path: {{creds}}
    allowed_targets: ["192.0.2.1"]
targets:
  "{{addr}}":
    fingerprint: "{{fp}}"
`)
	addr := e.sim.Addr()
	tests := []struct {
		name, query, want string
	}{
		{"no target", "", "Missing parameter: 'target'"},
		{"two targets", "target=a&target=b", "given 2 times"},
		{"plain http", "target=http://" + addr, "insecure_http: true"},
		{"path in target", "target=" + addr + "/x", "without path"},
		{"unknown auth", "target=" + addr + "&auth=nope", `unknown auth profile "nope"`},
		{"unpinned strict profile", "target=127.0.0.1:1&auth=strict&fingerprint=" + url.QueryEscape(e.sim.Fingerprint().String()), "cannot stand in for it"},
		{"not allowed", "target=" + addr + "&auth=limited", "allowed_targets"},
		{"url credentials", "target=" + addr + "&usr=admin&pwd=" + password, "credentials file"},
		{"bad force", "target=" + addr + "&force=maybe", "force"},
		{"bad port", "target=a.example&_port=99999", "_port"},
		{"bad fingerprint", "target=" + addr + "&fingerprint=zz", "invalid fingerprint"},
		{"huge query", "target=" + strings.Repeat("a", 5000), "longer than"},
		{"script", "target=%3Cscript%3E", "not a valid host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.get("/probe?" + tt.query)
			if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Fatalf("HTTP %d %q, want 400 containing %q", code, body, tt.want)
			}
		})
	}
	if st := e.sim.Stats(); st.Requests != 0 {
		t.Fatalf("refused probes reached the modem %d times", st.Requests)
	}
}

func TestURLCredentialsWhenAllowed(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig, func(o *Options) { o.AllowURLCredentials = true })
	body := e.probe("target=" + e.sim.Addr() + "&usr=admin&pwd=" + url.QueryEscape(password))
	wantLines(t, body, "probe_success 1", `hitron_credential_source_info{profile="",source="url"} 1`)
	code, body := e.get("/probe?target=" + e.sim.Addr() + "&usr=admin")
	if code != 400 || !strings.Contains(body, "Missing parameters") {
		t.Fatalf("usr without pwd: %d %s", code, body)
	}
}

func TestDebugConfigAndLandingShowNoSecret(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	code, body := e.get("/probe?target=" + e.sim.Addr() + "&debug=true")
	if code != 200 || !strings.Contains(body, "Trace:") || !strings.Contains(body, "probe_success 1") ||
		!strings.Contains(body, "POST /goform/login → 200") || !strings.Contains(body, secrets.Redacted) {
		t.Fatalf("debug output:\n%s", body)
	}
	_, body = e.get("/")
	if !strings.Contains(body, "/probes/1") || !strings.Contains(body, e.sim.Addr()) {
		t.Fatalf("landing page lacks the recent probe:\n%s", body)
	}
	code, body = e.get("/probes/1")
	if code != 200 || !strings.Contains(body, "dsinfo: parsed") {
		t.Fatalf("trace page: %d\n%s", code, body)
	}
	_, body = e.get("/config")
	if !strings.Contains(body, "require_fingerprint: false") || !strings.Contains(body, e.sim.Addr()) {
		t.Fatalf("config page:\n%s", body)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if code, _ := e.get(p); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	_, body = e.get("/metrics")
	for _, m := range []string{"hitron_exporter_probes_total{reason=\"\",result=\"success\"} 1", "hitron_exporter_logins_total{outcome=\"success\"} 1", "hitron_exporter_build_info{", "go_goroutines"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestRespelledTargetKeepsItsPin: https://, :443 or upper case do not make
// a pinned modem look unconfigured.
func TestRespelledTargetKeepsItsPin(t *testing.T) {
	other, err := modemsim.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, modemsim.Config{}, strings.Replace(pinnedConfig, "{{fp}}", pin.Of(other.Certificate[0]).String(), 1))
	for _, spelling := range []string{"https://" + e.sim.Addr(), "HTTPS://" + e.sim.Addr() + "/"} {
		body := e.probe("target=" + url.QueryEscape(spelling))
		wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="pin_mismatch"} 1`)
	}
	if st := e.sim.Stats(); st.Requests != 0 {
		t.Fatalf("a respelled pinned target reached the modem %d times", st.Requests)
	}
}

// TestRespelledTargetGetsItsOwnCredentials: https://addr finds the
// credentials file's entry for addr, not the default entry.
func TestRespelledTargetGetsItsOwnCredentials(t *testing.T) {
	e := newEnv(t, modemsim.Config{LockAfter: 50}, pinnedConfig)
	testkit.WriteFile(t, filepath.Join(e.dir, "credentials.yml"), "username: admin\npassword: wrong-default\ntargets:\n  \""+e.sim.Addr()+"\":\n    username: admin\n    password: "+password+"\n")
	for _, spelling := range []string{"https://" + e.sim.Addr(), e.sim.Addr(), "HTTPS://" + e.sim.Addr() + "/"} {
		wantLines(t, e.probe("target="+url.QueryEscape(spelling)), "probe_success 1")
	}
	if n := loginsWith(e.sim, "wrong-default"); n != 0 {
		t.Fatalf("the default entry was sent %d times", n)
	}
}

// TestModemStateBoundReachesTheProber: Options.MaxModems (--probe.max-modems)
// bounds the prober's table, whose behaviour internal/probe tests: with room
// for one modem, protected by a refusal, an unlisted target is answered
// too_many_modems.
func TestModemStateBoundReachesTheProber(t *testing.T) {
	e := newEnv(t, modemsim.Config{Password: "the-real-one", LockAfter: 50}, pinnedConfig, func(o *Options) { o.MaxModems = 1 })
	wantLines(t, e.probe("target="+e.sim.Addr()), `hitron_probe_failure_info{reason="bad_credentials"} 1`)
	other := testkit.StartSim(t, modemsim.Config{})
	wantLines(t, e.probe("target="+other.Addr()), "probe_success 0", `hitron_probe_failure_info{reason="too_many_modems"} 1`)
	if n := len(other.Stats().LoginAttempts); n != 0 {
		t.Fatalf("a modem refused a slot in the state table saw %d logins", n)
	}
}

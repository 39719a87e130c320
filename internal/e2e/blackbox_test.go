package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

const modemPassword = "modem-Pa55-e2e-never-shown"

// fileSetup writes a credentials file and a config pinning sim.
func fileSetup(t *testing.T, sim *modemsim.Simulator, extra string) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	return fileSetupInto(t, dir, sim, extra)
}

func TestConfigCheck(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	dir, good := fileSetup(t, sim, "")
	out, err := exec.Command(binary, "--config.file="+good, "--config.check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("valid config: %v\n%s", err, out)
	}
	bad := testkit.WriteFile(t, filepath.Join(dir, "bad.yml"), "auths:\n  lab:\n    file:\n      path: /nonexistent/creds.yml\ntargets:\n  \"192.0.2.1\":\n    fingerprint: nope\n")
	out, err = exec.Command(binary, "--config.file="+bad, "--config.check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), bad+":7") || !strings.Contains(string(out), `targets["192.0.2.1"].fingerprint`) {
		t.Fatalf("invalid config: %v\n%s", err, out)
	}
	missingCreds := testkit.WriteFile(t, filepath.Join(dir, "missing.yml"), "auths:\n  lab:\n    file:\n      path: /nonexistent/creds.yml\n")
	out, err = exec.Command(binary, "--config.file="+missingCreds, "--config.check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "auths.lab.file") {
		t.Fatalf("missing credentials file: %v\n%s", err, out)
	}
}

func TestReloadBySignalAndHTTP(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	dir, cfgPath := fileSetup(t, sim, "")
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgPath)
	probe := "/probe?target=" + sim.Addr()
	if _, body := e.get(probe); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("first probe:\n%s", body)
	}
	if code, _ := e.get("/-/reload"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /-/reload = %d, want 405", code)
	}

	steps := []struct {
		name      string
		config    string
		reload    func()
		wantOK    string
		wantAlias bool
	}{
		{"valid by SIGHUP", `
  "alias.invalid":
    fingerprint: "` + sim.Fingerprint().String() + `"
    address: "` + sim.Addr() + `"
`, func() { _ = e.cmd.Process.Signal(syscall.SIGHUP) }, "1", true},
		{"invalid by SIGHUP", "  broken: [\n", func() { _ = e.cmd.Process.Signal(syscall.SIGHUP) }, "0", true},
		{"invalid by HTTP", "unknown_key: 1\n", func() {
			if code, _ := e.do(http.MethodPost, "/-/reload", nil, "", ""); code != http.StatusInternalServerError {
				t.Errorf("POST /-/reload of an invalid config = %d, want 500", code)
			}
		}, "0", true},
		{"valid by HTTP", "", func() {
			if code, _ := e.do(http.MethodPost, "/-/reload", nil, "", ""); code != http.StatusOK {
				t.Errorf("POST /-/reload = %d", code)
			}
		}, "1", false},
	}
	for _, s := range steps {
		_, cfgPath = fileSetupInto(t, dir, sim, s.config)
		before := strings.Count(e.out.String(), "configuration")
		s.reload()
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(e.out.String(), "configuration") == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		_, metrics := e.get("/metrics")
		if !testkit.HasLine(metrics, "hitron_exporter_config_last_reload_successful "+s.wantOK) {
			t.Fatalf("%s: reload_successful is not %s", s.name, s.wantOK)
		}
		_, cfg := e.get("/config")
		if strings.Contains(cfg, "alias.invalid") != s.wantAlias {
			t.Fatalf("%s: /config alias present = %v, want %v", s.name, !s.wantAlias, s.wantAlias)
		}
		// The exporter keeps serving with the config in force.
		if _, body := e.get(probe); !testkit.HasLine(body, "probe_success 1") {
			t.Fatalf("%s: probe after reload:\n%s", s.name, body)
		}
		if s.wantAlias {
			if _, body := e.get("/probe?target=alias.invalid"); !testkit.HasLine(body, "probe_success 1") {
				t.Fatalf("%s: the alias (address: binding) does not probe:\n%s", s.name, body)
			}
		}
	}
	_ = cfgPath
}

// fileSetupInto (re)writes the config in dir, next to its credentials file.
func fileSetupInto(t *testing.T, dir string, sim *modemsim.Simulator, extra string) (string, string) {
	t.Helper()
	creds := dir + "/credentials.yml"
	cfg := `auths:
  default:
    file:
      path: ` + creds + `
targets:
  "` + sim.Addr() + `":
    fingerprint: "` + sim.Fingerprint().String() + `"
` + extra
	return dir, testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), cfg)
}

func TestWebConfigBasicAuthAndTLS(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	dir, cfgPath := fileSetup(t, sim, "")
	certPEM, keyPEM := selfSigned(t)
	cert := testkit.WriteFile(t, filepath.Join(dir, "tls.crt"), certPEM)
	key := testkit.WriteFile(t, filepath.Join(dir, "tls.key"), keyPEM)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	web := testkit.WriteFile(t, filepath.Join(dir, "web.yml"), "tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+key+
		"\nbasic_auth_users:\n  prometheus: "+string(hash)+"\n")
	e := startExporter(t, []string{modemPassword, "scrape-pass"}, "--config.file="+cfgPath, "--web.config.file="+web)
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "prometheus", "nope", http.StatusUnauthorized},
		{"right password", "prometheus", "scrape-pass", http.StatusOK},
	}
	for _, tt := range tests {
		code, body := e.do(http.MethodGet, "/probe?target="+sim.Addr(), nil, tt.user, tt.pass)
		if code != tt.want {
			t.Fatalf("%s: HTTP %d, want %d", tt.name, code, tt.want)
		}
		if code == http.StatusOK && !testkit.HasLine(body, "probe_success 1") {
			t.Fatalf("%s: %s", tt.name, body)
		}
	}
	// Plain HTTP is not served.
	if resp, err := http.Get("http://" + e.addr + "/-/healthy"); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 with TLS configured")
		}
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func TestSlowModemEndsInsideTheScrapeTimeout(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword, SlowDelay: time.Minute})
	_, cfgPath := fileSetup(t, sim, "")
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfgPath)
	sim.SetFault(modemsim.FaultSlow)
	for _, budget := range []string{"3", "5"} {
		start := time.Now()
		code, body := e.do(http.MethodGet, "/probe?target="+sim.Addr(), map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": budget}, "", "")
		elapsed := time.Since(start)
		limit, _ := time.ParseDuration(budget + "s")
		if code != 200 || !testkit.HasLine(body, "probe_success 0") || !testkit.HasLine(body, `hitron_probe_failure_info{reason="timeout"} 1`) {
			t.Fatalf("budget %ss: %d\n%s", budget, code, body)
		}
		if elapsed > limit {
			t.Fatalf("probe took %s with a %ss scrape timeout", elapsed, budget)
		}
		if !strings.Contains(body, "probe_timeout_seconds "+strings.TrimSuffix(strings.TrimSuffix((limit-500*time.Millisecond).String(), "s"), ".0")) {
			t.Errorf("probe_timeout_seconds does not show the budget minus the offset:\n%s", body)
		}
		if sim.Stats().SessionActive {
			t.Fatal("the slow modem's session was not logged out")
		}
	}
}

func TestTargetBindingRefusesUnpinnedBrokerTargets(t *testing.T) {
	modem := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	attacker := testkit.StartSim(t, modemsim.Config{Password: "whatever"})
	autoModem := testkit.StartSim(t, modemsim.Config{Password: modemPassword})
	dir := t.TempDir()
	token := "hvs.e2e-token-never-shown"
	tokenFile := testkit.WriteFile(t, filepath.Join(dir, "vault-token"), token)
	creds := testkit.WriteFile(t, filepath.Join(dir, "credentials.yml"), "username: admin\npassword: "+modemPassword+"\n")
	closed := testkit.MustFreeAddr(t) // nothing listens: the broker must not even be asked
	cfg := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), `auths:
  corp:
    vault:
      address: http://`+closed+`
      auth:
        method: token
        token_file: `+tokenFile+`
      mount: secret
      path: "hitron/{{ .Target }}"
  lab:
    file:
      path: `+creds+`
    allowed_targets: ["`+modem.Addr()+`"]
targets:
  "`+modem.Addr()+`":
    auth: corp
    fingerprint: "`+modem.Fingerprint().String()+`"
    dialect: cgn
  "`+autoModem.Addr()+`":
    auth: corp
    fingerprint: "`+autoModem.Fingerprint().String()+`"
`)
	e := startExporter(t, []string{modemPassword, token}, "--config.file="+cfg)
	attackerPin := url.QueryEscape(attacker.Fingerprint().String())
	tests := []struct{ name, query, want string }{
		{"broker profile, attacker's own pin", "target=" + attacker.Addr() + "&auth=corp&fingerprint=" + attackerPin, "cannot stand in for it"},
		{"broker profile, no pin", "target=" + attacker.Addr() + "&auth=corp", "targets: with a fingerprint"},
		{"file profile outside allowed_targets", "target=" + attacker.Addr() + "&auth=lab&fingerprint=" + attackerPin, "allowed_targets"},
		{"pinned target, contradicting pin", "target=" + modem.Addr() + "&fingerprint=" + attackerPin, "does not match"},
	}
	for _, tt := range tests {
		code, body := e.get("/probe?" + tt.query)
		if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Fatalf("%s: HTTP %d %q", tt.name, code, body)
		}
	}
	if st := attacker.Stats(); st.Requests != 0 {
		t.Fatalf("the attacker's server received %d requests", st.Requests)
	}
	// The pinned modem with the broker down: a clear failure, not a hang.
	code, body := e.get("/probe?target=" + modem.Addr())
	if code != 200 || !testkit.HasLine(body, "probe_success 0") || !testkit.HasLine(body, `hitron_probe_failure_info{reason="credentials"} 1`) {
		t.Fatalf("broker down: %d\n%s", code, body)
	}
	if modem.Stats().Requests != 0 {
		t.Fatal("the modem was contacted without credentials")
	}
	// With dialect auto, the first probe asks the modem its dialect (no
	// credentials involved) before it looks them up: no login, no session.
	code, body = e.get("/probe?target=" + autoModem.Addr())
	if code != 200 || !testkit.HasLine(body, `hitron_probe_failure_info{reason="credentials"} 1`) {
		t.Fatalf("auto, broker down: %d\n%s", code, body)
	}
	if st := autoModem.Stats(); st.LoginRequests != 0 || st.SessionActive || st.Requests > 2 {
		t.Fatalf("auto detection went past detecting: %d requests, %d logins, session %v", st.Requests, st.LoginRequests, st.SessionActive)
	}
	// Debug output, /config and the landing page show no secret.
	for _, p := range []string{"/probe?target=" + modem.Addr() + "&debug=true", "/config", "/", "/metrics"} {
		if code, _ := e.get(p); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	if code, _ := e.get("/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready = %d with the Vault provider unable to start, want 503", code)
	}
}

// TestGOMAXPROCS: the exporter runs its Go code on one processor unless
// --runtime.gomaxprocs or the GOMAXPROCS variable says otherwise (the flag
// wins), and says so on /metrics and in its "listening" log line.
func TestGOMAXPROCS(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"default", []string{"GOMAXPROCS="}, nil, "1"},
		{"the flag", []string{"GOMAXPROCS="}, []string{"--runtime.gomaxprocs=2"}, "2"},
		{"the variable", []string{"GOMAXPROCS=3"}, nil, "3"},
		{"the flag over the variable", []string{"GOMAXPROCS=3"}, []string{"--runtime.gomaxprocs=2"}, "2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := startExporterBinary(t, binary, tt.env, nil, append([]string{"--demo"}, tt.args...)...)
			if _, body := e.get("/metrics"); !testkit.HasLine(body, "go_sched_gomaxprocs_threads "+tt.want) {
				t.Fatalf("want go_sched_gomaxprocs_threads %s:\n%s", tt.want, body)
			}
			if log := e.out.String(); !strings.Contains(log, "gomaxprocs="+tt.want) {
				t.Fatalf("the listening line does not say gomaxprocs=%s:\n%s", tt.want, log)
			}
		})
	}
	out, err := exec.Command(binary, "--runtime.gomaxprocs=0", "--config.check").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "--runtime.gomaxprocs must be positive") {
		t.Fatalf("--runtime.gomaxprocs=0: %v\n%s", err, out)
	}
}

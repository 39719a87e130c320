package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// These tests are the attacks of issue 11, each made by a hostile client
// that can reach the exporter's port (or run a TLS server on the modem's
// LAN); every one succeeded against the code before its fix.

const unpinnedConfig = `
auths:
  default:
    file:
      path: {{creds}}
`

// TestAllZeroFingerprintIsNotNoPin: an all-zero fingerprint= used to be
// taken as "no pin", so the probe went ahead against any certificate and
// the password was sent. It is refused before anything is fetched.
func TestAllZeroFingerprintIsNotNoPin(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, unpinnedConfig)
	for _, fp := range []string{strings.Repeat("0", 64), strings.TrimSuffix(strings.Repeat("00:", 32), ":")} {
		code, body := e.get("/probe?target=" + e.sim.Addr() + "&fingerprint=" + url.QueryEscape(fp))
		if code != http.StatusBadRequest || !strings.Contains(body, "all zeros") {
			t.Fatalf("fingerprint=%s: HTTP %d (%d bytes), want 400 saying why", fp, code, len(body))
		}
	}
	if n := len(e.sim.Stats().LoginAttempts); n != 0 {
		t.Fatalf("the modem saw %d logins, want 0", n)
	}
}

// TestAllZeroConfiguredFingerprintIsRejected: the same spelling under
// targets: is a configuration error naming the field.
func TestAllZeroConfiguredFingerprintIsRejected(t *testing.T) {
	_, err := config.Parse([]byte(`
targets:
  "192.0.2.1":
    fingerprint: "` + strings.Repeat("00", 32) + `"
`))
	if err == nil || !strings.Contains(err.Error(), "fingerprint") || !strings.Contains(err.Error(), "all zeros") {
		t.Fatalf("config error = %v, want one naming the fingerprint and saying all zeros", err)
	}
}

// TestReloadBetweenLoadAndAcquire: a reload that retires the snapshot a
// probe has just loaded, before the probe acquires it, used to leave the
// probe on a snapshot whose providers were already closed. The window is
// provoked by hand: load, reload, then acquire.
func TestReloadBetweenLoadAndAcquire(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	loaded := e.srv.current.Load()
	if err := e.srv.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if loaded.Acquire() {
		loaded.Release()
		t.Fatal("a retired snapshot was acquired: its providers are closed")
	}
	got := e.srv.acquireSnapshot()
	defer got.Release()
	if got == loaded || got != e.srv.Snapshot() {
		t.Fatal("acquireSnapshot did not return the current snapshot")
	}
	wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 1")
}

// TestCrossSiteRequestsAreRefused: a web page in an operator's browser
// could POST /-/reload (which used to clear the memory of refused
// passwords) and GET /probe?…&force=1 from an <img> tag (ending a person's
// session on the modem). Prometheus, curl and the exporter's own pages
// keep working.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	probe := "/probe?target=" + e.sim.Addr() + "&force=1"
	tests := []struct {
		name   string
		method string
		path   string
		header []string
		want   int
	}{
		{"reload from curl", http.MethodPost, "/-/reload", nil, http.StatusOK},
		{"reload from the exporter's own page", http.MethodPost, "/-/reload", []string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"reload from another site", http.MethodPost, "/-/reload", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"reload from another port of this host", http.MethodPost, "/-/reload", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"reload from an old browser on another site", http.MethodPost, "/-/reload", []string{"Origin", "http://attacker.invalid"}, http.StatusForbidden},
		{"probe from Prometheus", http.MethodGet, probe, []string{"User-Agent", "Prometheus/3.0"}, http.StatusOK},
		{"probe typed into the address bar", http.MethodGet, probe, []string{"Sec-Fetch-Site", "none"}, http.StatusOK},
		{"probe from the landing page", http.MethodGet, probe, []string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"probe from an img tag on another site", http.MethodGet, probe, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"probe from another port of this host", http.MethodGet, probe, []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"probe from an old browser's fetch on another site", http.MethodGet, probe, []string{"Origin", "http://attacker.invalid"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sim.Stats().Logins
			req, err := http.NewRequest(tt.method, e.http.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusForbidden && e.sim.Stats().Logins != before {
				t.Fatal("a refused cross-site probe reached the modem")
			}
		})
	}
	_, metrics := e.get("/metrics")
	wantLines(t, metrics,
		`hitron_exporter_cross_site_requests_refused_total{endpoint="/-/reload"} 3`,
		`hitron_exporter_cross_site_requests_refused_total{endpoint="/probe"} 3`)
}

// TestReloadKeepsRefusals: six reload-then-probe rounds used to re-send a
// refused password six times in two seconds.
func TestReloadKeepsRefusals(t *testing.T) {
	e := newEnv(t, modemsim.Config{Password: "the-real-one", LockAfter: 50}, pinnedConfig)
	for i := 0; i < 6; i++ {
		resp, err := http.Post(e.http.URL+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload: HTTP %d", resp.StatusCode)
		}
		wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 0")
	}
	if n := loginsWith(e.sim, password); n != 1 {
		t.Fatalf("the refused password was sent %d times, want 1", n)
	}
}

// TestEveryAnswerIsNosniff: text answers (traces, debug output, config,
// metrics, errors) are not to be sniffed into HTML by a browser.
func TestEveryAnswerIsNosniff(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	e.probe("target=" + e.sim.Addr())
	id := strconv.FormatUint(e.srv.Prober().History().List()[0].ID, 10)
	for _, path := range []string{"/", "/probe?target=" + e.sim.Addr() + "&debug=true", "/probes/" + id, "/config", "/metrics",
		"/-/healthy", "/-/ready", "/probe", "/no-such-page"} {
		resp, err := http.Get(e.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, got)
		}
	}
}

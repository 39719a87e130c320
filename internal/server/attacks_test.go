package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestStateFloodKeepsRefusals: probing thousands of throwaway targets
// that answer "Wrong Credentials." used to evict the real modem's state,
// refusals included, and the next probe re-sent the refused password. With
// the table full of protective state, unknown targets fail with
// too_many_modems instead; a target listed under targets: still gets in.
func TestStateFloodKeepsRefusals(t *testing.T) {
	listed := startSim(t, modemsim.Config{Password: password})
	e := newEnv(t, modemsim.Config{Password: "the-real-one", LockAfter: 50}, `
auths:
  default:
    file:
      path: {{creds}}
targets:
  "`+listed.Addr()+`":
    fingerprint: "`+listed.Fingerprint().String()+`"
`, func(o *Options) { o.MaxModems = 4 })
	real := e.sim.Addr()
	wantLines(t, e.probe("target="+real), `hitron_probe_failure_info{reason="bad_credentials"} 1`)
	var throwaway []*modemsim.Simulator
	for i := 0; i < 6; i++ {
		throwaway = append(throwaway, startSim(t, modemsim.Config{Password: "throwaway", LockAfter: 50}))
	}
	for i, sim := range throwaway {
		body := e.probe("target=" + sim.Addr())
		if i < 3 {
			wantLines(t, body, `hitron_probe_failure_info{reason="bad_credentials"} 1`)
			continue
		}
		wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="too_many_modems"} 1`)
		if n := len(sim.Stats().LoginAttempts); n != 0 {
			t.Errorf("a modem refused a slot in the state table saw %d logins", n)
		}
	}
	wantLines(t, e.probe("target="+real), `hitron_probe_failure_info{reason="backoff"} 1`)
	if n := loginsWith(e.sim, password); n != 1 {
		t.Fatalf("the real modem saw the refused password %d times, want 1", n)
	}
	wantLines(t, e.probe("target="+listed.Addr()), "probe_success 1")
}

// TestQueueFloodIsBounded: a probe whose deadline is more than a second
// later than the queued run's replaces it, and the replaced run used to
// stop counting against the queue: 30 probes 1.1 s apart all queued and
// the modem saw 16 logins. Replaced runs count now.
func TestQueueFloodIsBounded(t *testing.T) {
	e := newEnv(t, modemsim.Config{Latency: 30 * time.Millisecond}, pinnedConfig, func(o *Options) { o.MaxQueuedPerModem = 8 })
	const probes = 20
	var wg sync.WaitGroup
	refused := make(chan struct{}, probes)
	for i := 0; i < probes; i++ {
		wg.Add(1)
		go func(timeout int) {
			defer wg.Done()
			body := e.probe("target="+e.sim.Addr(), "X-Prometheus-Scrape-Timeout-Seconds", strconv.Itoa(timeout))
			if strings.Contains(body, "not queuing more") || has(body, `hitron_probe_failure_info{reason="timeout"} 1`) {
				refused <- struct{}{}
			}
		}(30 + 2*i) // each deadline 2 s after the last: each replaces the queued run
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	close(refused)
	if n := e.sim.Stats().Logins; n > 8 {
		t.Fatalf("the modem saw %d logins from %d probes queued at once, want at most 8", n, probes)
	}
	if len(refused) < probes-8 {
		t.Fatalf("%d probes refused, want at least %d", len(refused), probes-8)
	}
}

// TestNoLoginWithoutTimeToLogOut: a probe whose budget is nearly spent
// when its turn comes used to log in anyway, with under a second left; the
// answer came too late and the modem's only session stayed taken.
func TestNoLoginWithoutTimeToLogOut(t *testing.T) {
	e := newEnv(t, modemsim.Config{Latency: 400 * time.Millisecond}, pinnedConfig)
	wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 1") // the exporter learns how slow it is
	before := e.sim.Stats().Logins
	// 1.5 s minus the 0.5 s offset: GET / takes 0.4 s, leaving 0.6 s for a
	// login and a logout of 0.4 s each.
	body := e.probe("target="+e.sim.Addr(), "X-Prometheus-Scrape-Timeout-Seconds", "1.5")
	wantLines(t, body, "probe_success 0", `hitron_probe_failure_info{reason="timeout"} 1`)
	if n := e.sim.Stats().Logins - before; n != 0 {
		t.Fatalf("the modem saw %d logins with too little time left, want 0", n)
	}
	e.assertSessionFreed()
}

func startSim(t *testing.T, cfg modemsim.Config) *modemsim.Simulator {
	t.Helper()
	sim, err := modemsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

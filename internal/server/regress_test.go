package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/logging"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
)

// These tests pin down findings of a security review.

func loginsWith(sim *modemsim.Simulator, pw string) int {
	n := 0
	for _, a := range sim.Stats().LoginAttempts {
		if a.Password == pw {
			n++
		}
	}
	return n
}

// TestAlternatingProfilesNeverResendARefusedPassword: a good profile's
// success in between does not make the modem forget a refused password.
func TestAlternatingProfilesNeverResendARefusedPassword(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yml"), "username: admin\npassword: wrong-one\n")
	e := newEnv(t, modemsim.Config{LockAfter: 50}, `
auths:
  default:
    file:
      path: {{creds}}
  bad:
    file:
      path: `+filepath.Join(dir, "bad.yml")+`
targets:
  "{{addr}}":
    fingerprint: "{{fp}}"
`)
	for i := 0; i < 6; i++ {
		e.probe("target=" + e.sim.Addr() + "&auth=bad")
		wantLines(t, e.probe("target="+e.sim.Addr()), "probe_success 1")
	}
	if n := loginsWith(e.sim, "wrong-one"); n != 1 {
		t.Fatalf("the refused password was sent %d times, want 1", n)
	}
}

// TestRespelledTargetGetsItsOwnCredentials: https://addr finds the
// credentials file's entry for addr, not the default entry.
func TestRespelledTargetGetsItsOwnCredentials(t *testing.T) {
	e := newEnv(t, modemsim.Config{LockAfter: 50}, pinnedConfig)
	writeFile(t, filepath.Join(e.dir, "credentials.yml"), "username: admin\npassword: wrong-default\ntargets:\n  \""+e.sim.Addr()+"\":\n    username: admin\n    password: "+password+"\n")
	for _, spelling := range []string{"https://" + e.sim.Addr(), e.sim.Addr(), "HTTPS://" + e.sim.Addr() + "/"} {
		wantLines(t, e.probe("target="+url.QueryEscape(spelling)), "probe_success 1")
	}
	if n := loginsWith(e.sim, "wrong-default"); n != 0 {
		t.Fatalf("the default entry was sent %d times", n)
	}
}

// TestAbandonedProbesDoNotQueue: callers that give up (with a huge scrape
// timeout and ever-new parameters) leave nothing queued for the modem, and a
// normal scrape right after succeeds.
func TestAbandonedProbesDoNotQueue(t *testing.T) {
	e := newEnv(t, modemsim.Config{Latency: 50 * time.Millisecond}, pinnedConfig)
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+"/probe?target="+e.sim.Addr()+fmt.Sprintf("&ipa_vault_namespace=x%d", i), nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "3600")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
		cancel()
	}
	time.Sleep(300 * time.Millisecond)
	logins := e.sim.Stats().Logins
	body := e.probe("target="+e.sim.Addr(), "X-Prometheus-Scrape-Timeout-Seconds", "3")
	wantLines(t, body, "probe_success 1")
	if after := e.sim.Stats().Logins; after > logins+1 {
		t.Fatalf("logins went on after the callers left: %d then %d", logins, after)
	}
	if logins > 10 {
		t.Fatalf("%d logins for 100 abandoned probes of one modem", logins)
	}
}

// TestLostLoginAnswerIsLoggedOut: a modem that accepts the login but answers
// after the deadline gets a logout; the unconfirmed password is not sent
// again at once, and no session is forced out.
func TestLostLoginAnswerIsLoggedOut(t *testing.T) {
	var logins, logouts, forced atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "preSession", Value: "p", Path: "/"})
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("POST /goform/login", func(w http.ResponseWriter, r *http.Request) {
		if logins.Add(1) == 1 {
			time.Sleep(1500 * time.Millisecond) // the first answer comes too late
		}
		if r.PostFormValue("forcelogoff") == "1" {
			forced.Add(1)
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionindex", Value: "s", Path: "/"})
		_, _ = w.Write([]byte("success"))
	})
	mux.HandleFunc("GET /data/{page}", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("POST /goform/logout", func(w http.ResponseWriter, r *http.Request) {
		logouts.Add(1)
		w.WriteHeader(http.StatusFound)
	})
	hs := httptest.NewUnstartedServer(mux)
	hs.TLS = &tls.Config{}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	addr := strings.TrimPrefix(hs.URL, "https://")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yml"), "username: admin\npassword: "+password+"\n")
	cfgPath := filepath.Join(dir, "config.yml")
	writeFile(t, cfgPath, "auths:\n  default:\n    file:\n      path: "+filepath.Join(dir, "c.yml")+"\ntargets:\n  \""+addr+"\":\n    fingerprint: \""+pin.Of(hs.Certificate().Raw).String()+"\"\n")
	log, _ := logging.New("debug", "logfmt", &syncBuffer{})
	reg := secrets.NewRegistry()
	reg.Register("file", file.Kind())
	srv, err := New(context.Background(), Options{Logger: log, Registry: reg, TimeoutOffset: 0,
		Load: func() (*config.Config, error) { return config.Load(cfgPath, false) }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	probe := func() string {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/probe?target="+addr, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(resp))
		return b.String()
	}
	body := probe()
	if !has(body, `hitron_probe_failure_info{reason="timeout"} 1`) {
		t.Fatalf("first probe:\n%s", body)
	}
	if logouts.Load() < 1 {
		t.Fatal("no logout after a login whose answer was lost")
	}
	// The password never worked on this modem and its answer was lost: it
	// may be wrong, so it waits a back-off instead of going out on every
	// scrape; and nobody's session is forced out (no forcelogoff=1).
	if body := probe(); !has(body, `hitron_probe_failure_info{reason="backoff"} 1`) {
		t.Fatalf("second probe:\n%s", body)
	}
	if logins.Load() != 1 || forced.Load() != 0 {
		t.Fatalf("logins %d, forced %d; want 1 and 0", logins.Load(), forced.Load())
	}
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

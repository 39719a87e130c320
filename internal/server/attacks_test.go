package server

import (
	"net/http"
	"net/url"
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
			t.Fatalf("fingerprint=%s: HTTP %d %q, want 400 saying why", fp, code, body)
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

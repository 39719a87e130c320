package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
)

const password = "s3cr3t-Pa55word-never-shown"

// env is an exporter in front of one simulated modem.
type env struct {
	t    testing.TB
	sim  *modemsim.Simulator
	srv  *Server
	http *httptest.Server
	logs *testkit.LogBuffer
	dir  string
}

// newEnv starts a simulator and an exporter whose config is extra with
// {{addr}}, {{fp}} and {{creds}} substituted.
func newEnv(t testing.TB, simCfg modemsim.Config, cfgText string, opts ...func(*Options)) *env {
	t.Helper()
	if simCfg.Password == "" {
		simCfg.Password = password
	}
	sim := testkit.StartSim(t, simCfg)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.yml")
	testkit.WriteFile(t, creds, "username: admin\npassword: "+password+"\n")
	cfgText = strings.NewReplacer("{{addr}}", sim.Addr(), "{{fp}}", sim.Fingerprint().String(), "{{creds}}", creds).Replace(cfgText)
	cfgPath := filepath.Join(dir, "config.yml")
	testkit.WriteFile(t, cfgPath, cfgText)
	log, logs := testkit.DebugLogger(t)
	reg := secrets.NewRegistry()
	reg.Register("file", file.Kind())
	o := Options{
		Logger: log, Registry: reg, TimeoutOffset: 500 * time.Millisecond, Version: "test",
		Load: func() (*config.Config, error) { return config.Load(cfgPath, false) },
	}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Snapshot().Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{t: t, sim: sim, srv: srv, http: hs, logs: logs, dir: dir}
	t.Cleanup(e.assertNoLeak)
	return e
}

// get fetches a path; the body never may contain the password.
func (e *env) get(path string, header ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), password) {
		e.t.Fatalf("GET %s: response contains the password", path)
	}
	return resp.StatusCode, string(body)
}

func (e *env) probe(query string, header ...string) string {
	e.t.Helper()
	code, body := e.get("/probe?"+query, header...)
	if code != http.StatusOK {
		e.t.Fatalf("probe %s: HTTP %d: %s", query, code, body)
	}
	return body
}

func (e *env) assertNoLeak() {
	if strings.Contains(e.logs.String(), password) {
		e.t.Errorf("the password appears in the logs")
	}
	for _, p := range []string{"/config", "/metrics", "/"} {
		_, body := e.get(p)
		_ = body
	}
}

func (e *env) assertSessionFreed() {
	e.t.Helper()
	if e.sim.Stats().SessionActive {
		e.t.Fatal("the modem's session was left open")
	}
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !testkit.HasLine(body, l) {
			t.Errorf("missing line %q in:\n%s", l, body)
		}
	}
}

const pinnedConfig = `
auths:
  default:
    file:
      path: {{creds}}
targets:
  "{{addr}}":
    fingerprint: "{{fp}}"
`

func loginsWith(sim *modemsim.Simulator, pw string) int {
	n := 0
	for _, a := range sim.Stats().LoginAttempts {
		if a.Password == pw {
			n++
		}
	}
	return n
}

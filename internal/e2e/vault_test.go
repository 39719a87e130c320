package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
)

// vaultModem starts a modem and a Vault server holding its credentials at
// secret/hitron/127.0.0.1 (KV v2), readable with a policy-limited token.
func vaultModem(t *testing.T) (*modemsim.Simulator, *vaultenv.Server, string) {
	t.Helper()
	sim := testkit.StartSim(t, modemsim.Config{Password: modemPassword, Latency: time.Millisecond})
	v := vaultenv.Start(t)
	v.WriteSecret(t, "secret", 2, "hitron/127.0.0.1", map[string]any{"username": "admin", "password": modemPassword})
	v.PutPolicy(t, "hitron-read", vaultenv.ReadPolicy("secret/data/hitron/*"))
	token := v.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}})
	return sim, v, token
}

func TestVaultProfileEndToEnd(t *testing.T) {
	sim, v, token := vaultModem(t)
	audit := v.EnableFileAudit(t)
	dir := t.TempDir()
	tokenFile := testkit.WriteFile(t, filepath.Join(dir, "token"), token)
	pinned := `    auth: vault
    fingerprint: "` + sim.Fingerprint().String() + `"
`
	cfg := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), `auths:
  vault:
    vault:
      address: `+v.Addr+`
      auth:
        method: token
        token_file: `+tokenFile+`
      mount: secret
      kv_version: 2
      path: "hitron/{{ .Host }}"
targets:
  "`+sim.Addr()+`":
`+pinned)
	e := startExporter(t, []string{modemPassword, token}, "--config.file="+cfg)

	// 100 concurrent probes under two spellings of the modem (both match the
	// one configured target): one Vault read.
	queries := []string{"/probe?target=" + sim.Addr(), "/probe?target=" + url.QueryEscape("https://"+sim.Addr())}
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(q string) {
			defer wg.Done()
			if _, body := e.get(q); !testkit.HasLine(body, "probe_success 1") {
				failures <- body
			}
		}(queries[i%2])
	}
	wg.Wait()
	close(failures)
	for body := range failures {
		t.Fatalf("a probe failed:\n%s", body)
	}
	reads := audit.Count(t, "read", "secret/data/hitron/127.0.0.1")
	if reads != 1 {
		t.Fatalf("100 concurrent probes made %d Vault reads, want 1 per TTL", reads)
	}
	st := sim.Stats()
	if st.RepeatLogins != 0 || st.SessionActive {
		t.Fatalf("modem sessions: %d Repeat Login, active %v", st.RepeatLogins, st.SessionActive)
	}
	_, metrics := e.get("/metrics")
	for _, want := range []string{
		`hitron_exporter_credential_fetches_total{profile="vault",provider="vault"} 1`,
		`hitron_exporter_credential_cache_requests_total{profile="vault",provider="vault",result="miss"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := e.get("/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready = %d", code)
	}

	// Rotation: the modem and Vault get a new password; the cached one is
	// rejected once, dropped, re-read, and the probe succeeds.
	rotated := "rotated-" + modemPassword
	e.secrets = append(e.secrets, rotated)
	before := len(sim.Stats().LoginAttempts)
	sim.SetPassword(rotated)
	v.WriteSecret(t, "secret", 2, "hitron/127.0.0.1", map[string]any{"username": "admin", "password": rotated})
	if _, body := e.get(queries[0]); !testkit.HasLine(body, "probe_success 1") {
		t.Fatalf("after rotation:\n%s", body)
	}
	if got := audit.Count(t, "read", "secret/data/hitron/127.0.0.1"); got != 2 {
		t.Fatalf("Vault reads after rotation = %d, want 2", got)
	}
	wrong := 0
	for _, a := range sim.Stats().LoginAttempts[before:] {
		if a.Password != rotated {
			wrong++
		}
	}
	if wrong != 1 {
		t.Fatalf("the modem saw %d logins with the old password, want 1", wrong)
	}
}

func TestVaultAgentSidecarPatterns(t *testing.T) {
	sim, v, _ := vaultModem(t)
	roleID, secretID := v.AppRole(t, "hitron", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}})
	agent := v.StartAgent(t, vaultenv.AgentOptions{RoleID: roleID, SecretID: secretID, StaticSecretRenderInterval: time.Second,
		Templates: []vaultenv.Template{{
			Destination: "credentials.yml",
			Contents: `{{ with secret "secret/data/hitron/127.0.0.1" }}username: {{ .Data.data.username | toJSON }}
password: {{ .Data.data.password | toJSON }}
{{ end }}`,
		}}})
	proxy := v.StartProxy(t, vaultenv.AgentOptions{RoleID: roleID, SecretID: secretID})
	dir := t.TempDir()
	pin := `    fingerprint: "` + sim.Fingerprint().String() + `"
`
	cfg := testkit.WriteFile(t, filepath.Join(dir, "hitron-exporter.yml"), `auths:
  rendered:
    file:
      path: `+agent.Templates[0]+`
  agent:
    vault:
      address: `+agent.Addr+`
      auth:
        method: agent
      path: "hitron/{{ .Host }}"
  proxy:
    vault:
      address: `+proxy.Addr+`
      auth:
        method: agent
      path: "hitron/{{ .Host }}"
    cache:
      ttl: 0s
targets:
  "`+sim.Addr()+`":
`+pin)
	e := startExporter(t, []string{modemPassword}, "--config.file="+cfg)
	for _, profile := range []string{"rendered", "agent", "proxy"} {
		if _, body := e.get("/probe?target=" + sim.Addr() + "&auth=" + profile); !testkit.HasLine(body, "probe_success 1") {
			t.Fatalf("auth=%s:\n%s", profile, body)
		}
	}
	// A password rotated in Vault reaches the rendered file and the next
	// probe, without a restart.
	rotated := "rotated-" + modemPassword
	e.secrets = append(e.secrets, rotated)
	sim.SetPassword(rotated)
	v.WriteSecret(t, "secret", 2, "hitron/127.0.0.1", map[string]any{"username": "admin", "password": rotated})
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(agent.Templates[0])
		if strings.Contains(string(b), rotated) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not re-render the credentials file")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, profile := range []string{"rendered", "proxy", "agent"} {
		if _, body := e.get("/probe?target=" + sim.Addr() + "&auth=" + profile); !testkit.HasLine(body, "probe_success 1") {
			t.Fatalf("auth=%s after rotation:\n%s", profile, body)
		}
	}
}

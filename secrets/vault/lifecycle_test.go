package vault

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
)

// assertNoLeak fails if any secret value appears in the error or the logs.
func assertNoLeak(t *testing.T, logs *observer.ObservedLogs, err error, values ...string) {
	t.Helper()
	text := logText(logs)
	if err != nil {
		text += "\n" + err.Error() + fmt.Sprintf("\n%v\n%+v", err, err)
	}
	for _, v := range values {
		if v != "" && strings.Contains(text, v) {
			t.Fatalf("secret value leaked into errors or logs:\n%s", text)
		}
	}
}

func approleBlock(t *testing.T, addr, roleID, secretID string) string {
	t.Helper()
	return fmt.Sprintf("address: %s\nauth:\n  method: approle\n  role_id_file: %s\n  secret_id_file: %s\n",
		addr, vaultenv.WriteFile(t, "role_id", roleID), vaultenv.WriteFile(t, "secret_id", secretID))
}

func logins(p *Provider, result string) float64 {
	return testutil.ToFloat64(p.metrics.logins.WithLabelValues(result))
}

// TestRevokedTokenRelogin revokes the provider's token behind its back: the
// next Fetch gets a 403, checks the token, logs in once and retries once.
func TestRevokedTokenRelogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	roleID, secretID := s.AppRole(t, "hitron", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "10m"})
	audit := s.EnableFileAudit(t)
	p, logs := newProvider(t, approleBlock(t, s.Addr, roleID, secretID))
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	res, err := fetch(t, p, modem)
	wantCreds(t, res, err, "admin", modemPwd)
	first := p.client.Token()

	s.RevokeToken(t, first)
	res, err = fetch(t, p, modem)
	wantCreds(t, res, err, "admin", modemPwd)
	if p.client.Token() == first {
		t.Fatal("token was not replaced after revocation")
	}
	if got := logins(p, "success"); got != 2 {
		t.Fatalf("logins_total{result=success} = %v, want 2", got)
	}
	// read ok, read 403, lookup-self 403, login, read ok.
	if got := audit.Count(t, "read", "secret/data/hitron/"+modem); got != 3 {
		t.Fatalf("audited reads = %d, want 3", got)
	}
	if got := audit.Count(t, "update", "auth/approle/login"); got != 2 {
		t.Fatalf("audited logins = %d, want 2", got)
	}

	// Concurrent probes that all hit the revoked token share one login.
	s.RevokeToken(t, p.client.Token())
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := p.Fetch(ctx, "hitron/"+modem)
			if err == nil && res.Credentials.Password() != modemPwd {
				err = fmt.Errorf("wrong password")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Fetch after revocation: %v", err)
		}
	}
	if got := logins(p, "success"); got != 3 {
		t.Fatalf("logins_total{result=success} after concurrent 403s = %v, want 3", got)
	}

	// A 403 from policy (token still valid) must not trigger a login.
	q, qlogs := newProvider(t, approleBlock(t, s.Addr, roleID, secretID)+"path: 'other/{{ .Target }}'\n")
	_, err = fetch(t, q, modem)
	wantReason(t, err, secrets.ReasonPermissionDenied)
	_, err = fetch(t, q, modem)
	wantReason(t, err, secrets.ReasonPermissionDenied)
	if got := logins(q, "success"); got != 1 {
		t.Fatalf("policy 403 caused logins: %v, want 1", got)
	}
	assertNoLeak(t, logs, err, first, p.client.Token(), roleID, secretID, modemPwd)
	assertNoLeak(t, qlogs, err, q.client.Token(), roleID, secretID, "other-pw-Wq2")
}

// TestRenewalKeepsTokenAlive uses a 3 s token: the lifetime watcher must
// renew it so that it outlives its TTL with a single login, and when the
// max TTL ends renewal the provider must log in again by itself.
func TestRenewalKeepsTokenAlive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	t.Run("renewed past its ttl", func(t *testing.T) {
		roleID, secretID := s.AppRole(t, "short", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "3s", TokenMaxTTL: "1m"})
		p, logs := newProvider(t, approleBlock(t, s.Addr, roleID, secretID))
		if err := p.Start(context.Background()); err != nil {
			t.Fatalf("Start() = %v", err)
		}
		tok := p.client.Token()
		time.Sleep(5 * time.Second)
		if ttl := s.TokenTTL(t, tok); ttl <= 0 {
			t.Fatalf("token ttl after 5 s = %s, want it renewed", ttl)
		}
		res, err := fetch(t, p, modem)
		wantCreds(t, res, err, "admin", modemPwd)
		if p.client.Token() != tok || logins(p, "success") != 1 {
			t.Fatalf("token replaced (logins %v) instead of renewed", logins(p, "success"))
		}
		if n := testutil.ToFloat64(p.metrics.renewals); n < 1 {
			t.Fatalf("renewals_total = %v, want >= 1", n)
		}
		if err := testutil.CollectAndCompare(p, strings.NewReader(`
# HELP hitron_exporter_vault_logins_total Vault logins by the vault credentials provider, by result.
# TYPE hitron_exporter_vault_logins_total counter
hitron_exporter_vault_logins_total{profile="test",result="success"} 1
`), "hitron_exporter_vault_logins_total"); err != nil {
			t.Fatal(err)
		}
		if n := testutil.CollectAndCount(p, "hitron_exporter_vault_token_expiry_timestamp_seconds"); n != 1 {
			t.Fatalf("expiry series = %d, want 1", n)
		}
		if problems, err := testutil.CollectAndLint(p); err != nil || len(problems) > 0 {
			t.Fatalf("lint: %v %v", problems, err)
		}
		assertNoLeak(t, logs, nil, tok, roleID, secretID)
	})
	t.Run("max ttl reached logs in again", func(t *testing.T) {
		roleID, secretID := s.AppRole(t, "capped", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "2s", TokenMaxTTL: "3s"})
		p, logs := newProvider(t, approleBlock(t, s.Addr, roleID, secretID))
		if err := p.Start(context.Background()); err != nil {
			t.Fatalf("Start() = %v", err)
		}
		first := p.client.Token()
		vaultenv.WaitFor(t, 10*time.Second, "a second login", func() bool { return logins(p, "success") >= 2 })
		if p.client.Token() == first {
			t.Fatal("token not replaced")
		}
		time.Sleep(time.Second) // the first token has expired by now
		res, err := fetch(t, p, modem)
		wantCreds(t, res, err, "admin", modemPwd)
		assertNoLeak(t, logs, nil, first, p.client.Token(), roleID, secretID)
	})
}

// TestOutageLongerThanTokenTTL seals Vault past the token's TTL: renewal
// fails, re-logins fail with back-off, and after the unseal the provider
// serves credentials again without a restart.
func TestOutageLongerThanTokenTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	roleID, secretID := s.AppRole(t, "short", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "2s", TokenMaxTTL: "1m"})
	p, logs := newProvider(t, approleBlock(t, s.Addr, roleID, secretID)+"timeout: 1s\n")
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	first := p.client.Token()
	s.Seal(t)
	time.Sleep(3 * time.Second)
	_, err := fetch(t, p, modem)
	wantReason(t, err, secrets.ReasonUnavailable)
	s.Unseal(t)
	vaultenv.WaitFor(t, 15*time.Second, "credentials after the outage", func() bool {
		res, err := fetch(t, p, modem)
		return err == nil && res.Credentials.Password() == modemPwd
	})
	if p.client.Token() == first {
		t.Fatal("expected a new token after the old one expired during the outage")
	}
	if logins(p, "failure") < 1 {
		t.Fatalf("logins_total{result=failure} = %v, want failed logins during the outage", logins(p, "failure"))
	}
	assertNoLeak(t, logs, err, first, p.client.Token(), roleID, secretID)
}

// TestKubernetesJWTRotation replaces the service-account token file, as the
// kubelet does for projected tokens: the next login uses the new JWT.
func TestKubernetesJWTRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	k := s.EnableKubernetesAuth(t, "")
	sa := vaultenv.ServiceAccount{Namespace: "monitoring", Name: "hitron-exporter", UID: "0d7c6a52-0000-4000-8000-000000000002"}
	k.CreateRole(t, s, "hitron", sa, []string{"hitron-read"}, "10m")
	oldJWT := k.MintJWT(t, sa, 2*time.Second)
	jwtFile := vaultenv.WriteFile(t, "token", oldJWT)
	p, logs := newProvider(t, fmt.Sprintf("address: %s\nauth: {method: kubernetes, role: hitron, jwt_file: %s}\n", s.Addr, jwtFile))
	res, err := fetch(t, p, modem)
	wantCreds(t, res, err, "admin", modemPwd)

	time.Sleep(2500 * time.Millisecond) // the old JWT has expired
	newJWT := k.MintJWT(t, sa, time.Hour)
	if err := os.WriteFile(jwtFile, []byte(newJWT), 0o600); err != nil {
		t.Fatal(err)
	}
	s.RevokeToken(t, p.client.Token())
	res, err = fetch(t, p, modem)
	wantCreds(t, res, err, "admin", modemPwd)
	if logins(p, "success") != 2 {
		t.Fatalf("logins = %v, want 2", logins(p, "success"))
	}
	assertNoLeak(t, logs, err, oldJWT, newJWT, p.client.Token())
}

// TestAgentTemplateFeedsFileProvider is the sidecar pattern: a real Vault
// Agent renders the credentials file, the file provider reads it, and a
// password rotated in Vault reaches the next read without a restart.
func TestAgentTemplateFeedsFileProvider(t *testing.T) {
	t.Parallel()
	s := vaultenv.Start(t)
	s.WriteSecret(t, "secret", 2, "hitron/default", map[string]any{"username": "admin", "password": "pw-one-A1"})
	s.WriteSecret(t, "secret", 2, "hitron/192.0.2.1", map[string]any{"username": "cusadmin", "password": `q"uote: and 'more'`})
	s.PutPolicy(t, "hitron-read", vaultenv.ReadPolicy("secret/data/hitron/*"))
	roleID, secretID := s.AppRole(t, "agent", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}})
	agent := s.StartAgent(t, vaultenv.AgentOptions{
		RoleID: roleID, SecretID: secretID, StaticSecretRenderInterval: time.Second,
		Templates: []vaultenv.Template{{Destination: "hitron-credentials.yaml", Contents: credentialsTemplate}},
	})
	fp, err := file.New(secrets.Options{Profile: "sidecar", Decode: strictDecode("path: " + agent.Templates[0] + "\n")})
	if err != nil {
		t.Fatalf("file provider on the rendered file: %v", err)
	}
	get := func(target string) secrets.Credentials {
		t.Helper()
		res, err := fp.Fetch(context.Background(), target)
		if err != nil {
			t.Fatalf("file Fetch(%q) = %v", target, err)
		}
		return res.Credentials
	}
	if c := get("192.0.2.9"); c.Username() != "admin" || c.Password() != "pw-one-A1" {
		t.Fatalf("default entry = %s / %d chars", c.Username(), len(c.Password()))
	}
	if c := get("192.0.2.1"); c.Username() != "cusadmin" || c.Password() != `q"uote: and 'more'` {
		t.Fatalf("target entry = %s / %d chars", c.Username(), len(c.Password()))
	}

	s.WriteSecret(t, "secret", 2, "hitron/default", map[string]any{"username": "admin", "password": "pw-two-B2"})
	begin := time.Now()
	vaultenv.WaitFor(t, 15*time.Second, "the rotated password in the rendered file", func() bool {
		return get("192.0.2.9").Password() == "pw-two-B2"
	})
	t.Logf("rotation reached the file provider after %s", time.Since(begin).Round(10*time.Millisecond))
	if fi, err := os.Stat(agent.Templates[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rendered file mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

// TestNoSecretsInLogsAcrossLifecycle runs a provider through login, renewal,
// revocation, a bad secret_id and sealing with debug logging on, and checks
// no secret reaches its logs or errors.
func TestNoSecretsInLogsAcrossLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.s
	roleID, secretID := s.AppRole(t, "hitron", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "2s", TokenMaxTTL: "1m"})
	secretIDFile := vaultenv.WriteFile(t, "secret_id", secretID)
	block := fmt.Sprintf("address: %s\nauth: {method: approle, role_id_file: %s, secret_id_file: %s}\n",
		s.Addr, vaultenv.WriteFile(t, "role_id", roleID), secretIDFile)
	p, logs := newProvider(t, block)
	var errs []error
	seen := map[string]bool{}
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
		seen[p.client.Token()] = true
	}
	record(p.Start(context.Background()))
	time.Sleep(2 * time.Second) // a renewal or two
	_, err := fetch(t, p, modem)
	record(err)
	s.RevokeToken(t, p.client.Token())
	_, err = fetch(t, p, modem)
	record(err)
	// Rotate the secret_id file to a wrong value, then revoke: the re-login fails.
	badSecretID := "0e6b9c1a-dead-4bad-8bad-5ecre7000000"
	if err := os.WriteFile(secretIDFile, []byte(badSecretID), 0o600); err != nil {
		t.Fatal(err)
	}
	s.RevokeToken(t, p.client.Token())
	_, err = fetch(t, p, modem)
	wantReason(t, err, secrets.ReasonAuthFailed)
	record(err)
	s.Seal(t)
	_, err = fetch(t, p, modem)
	record(err)
	s.Unseal(t)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(logs.All()) == 0 {
		t.Fatal("no logs captured")
	}
	t.Logf("captured logs:\n%s", logText(logs))
	values := []string{roleID, secretID, badSecretID, modemPwd, s.RootToken}
	for tok := range seen {
		values = append(values, tok)
	}
	for _, err := range append(errs, nil) {
		assertNoLeak(t, logs, err, values...)
	}
}

// credentialsTemplate renders the file provider's format from KV v2; it is
// the template docs/credentials-vault.md shows. toJSON quotes any password
// as a valid YAML scalar.
const credentialsTemplate = `{{- with secret "secret/data/hitron/default" -}}
username: {{ .Data.data.username | toJSON }}
password: {{ .Data.data.password | toJSON }}
{{ end -}}
targets:
{{- with secret "secret/data/hitron/192.0.2.1" }}
  "192.0.2.1":
    username: {{ .Data.data.username | toJSON }}
    password: {{ .Data.data.password | toJSON }}
{{- end }}
`

package vault

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/vaultenv"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

const (
	modem    = "192.168.100.1"
	modemPwd = "kv2-pässword-Zq8"
)

// fixture is a Vault server with the layout the tests share: KV v2 at
// secret/ and KV v1 at kv1/, a read policy on both hitron/ trees, and a
// secret for modem in each.
type fixture struct {
	s        *vaultenv.Server
	readOnly string // a token with policy hitron-read
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := vaultenv.Start(t)
	s.EnableKV(t, "kv1", 1)
	s.WriteSecret(t, "secret", 2, "hitron/"+modem, map[string]any{"username": "admin", "password": modemPwd})
	s.WriteSecret(t, "secret", 2, "hitron/nokey", map[string]any{"username": "admin"})
	s.WriteSecret(t, "secret", 2, "hitron/custom", map[string]any{"user": "cusadmin", "pass": "custom-pw-1"})
	s.WriteSecret(t, "kv1", 1, "hitron/"+modem, map[string]any{"username": "admin1", "password": "kv1-pw-Yx3"})
	s.WriteSecret(t, "kv1", 1, "hitron/ttl", map[string]any{"username": "admin1", "password": "kv1-pw-ttl", "ttl": "90s"})
	s.WriteSecret(t, "secret", 2, "other/"+modem, map[string]any{"username": "x", "password": "other-pw-Wq2"})
	s.WriteSecret(t, "secret", 2, "hitron/deleted", map[string]any{"username": "admin", "password": "deleted-pw"})
	if err := s.Client(t).KVv2("secret").Delete(context.Background(), "hitron/deleted"); err != nil {
		t.Fatalf("soft-delete: %v", err)
	}
	s.PutPolicy(t, "hitron-read", vaultenv.ReadPolicy("secret/data/hitron/*", "kv1/hitron/*"))
	return &fixture{s: s, readOnly: s.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}, TTL: "1h"})}
}

func tokenBlock(addr, tokenFile, extra string) string {
	return fmt.Sprintf("address: %s\nauth:\n  method: token\n  token_file: %s\n%s", addr, tokenFile, extra)
}

// TestFetchKV covers KV v1 and v2 reads and their failure reasons against a
// real Vault server.
func TestFetchKV(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tokenFile := vaultenv.WriteFile(t, "token", f.readOnly+"\n")
	tests := []struct {
		name       string
		extra      string
		target     string
		user, pass string
		ttl        time.Duration
		reason     string
		errHas     string
	}{
		{name: "kv2", target: modem, user: "admin", pass: modemPwd},
		{name: "kv1", extra: "mount: kv1\nkv_version: 1\n", target: modem, user: "admin1", pass: "kv1-pw-Yx3"},
		{name: "kv1 explicit ttl becomes TTL", extra: "mount: kv1\nkv_version: 1\n", target: "ttl", user: "admin1", pass: "kv1-pw-ttl", ttl: 90 * time.Second},
		{name: "custom keys", extra: "username_key: user\npassword_key: pass\n", target: "custom", user: "cusadmin", pass: "custom-pw-1"},
		{name: "host template", extra: "path: 'hitron/{{ .Host }}'\n", target: modem, user: "admin", pass: modemPwd},
		{name: "kv2 missing path", target: "192.0.2.77", reason: secrets.ReasonNotFound, errHas: "secret/data/hitron/192.0.2.77"},
		{name: "kv1 missing path", extra: "mount: kv1\nkv_version: 1\n", target: "192.0.2.77", reason: secrets.ReasonNotFound},
		{name: "kv2 latest version deleted", target: "deleted", reason: secrets.ReasonNotFound, errHas: "secret/data/hitron/deleted"},
		{name: "missing key", target: "nokey", reason: secrets.ReasonNotFound, errHas: `no key "password"`},
		{name: "policy denies path", extra: "path: 'other/{{ .Target }}'\n", target: modem, reason: secrets.ReasonPermissionDenied, errHas: "403"},
		{name: "missing mount", extra: "mount: nomount\n", target: modem, reason: secrets.ReasonPermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, logs := newProvider(t, tokenBlock(f.s.Addr, tokenFile, tc.extra))
			res, err := fetch(t, p, tc.target)
			if tc.reason != "" {
				wantReason(t, err, tc.reason)
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %q does not mention %q", err, tc.errHas)
				}
			} else {
				wantCreds(t, res, err, tc.user, tc.pass)
				if res.TTL != tc.ttl {
					t.Fatalf("TTL = %s, want %s", res.TTL, tc.ttl)
				}
			}
			assertNoLeak(t, logs, err, f.readOnly, modemPwd, "kv1-pw-Yx3", "other-pw-Wq2")
		})
	}
}

// TestAuthMethods logs in with each method against the real server and
// reads the same secret.
func TestAuthMethods(t *testing.T) {
	f := newFixture(t)
	s := f.s
	roleID, secretID := s.AppRole(t, "hitron", vaultenv.AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "5m"})
	k := s.EnableKubernetesAuth(t, "k8s")
	sa := vaultenv.ServiceAccount{Namespace: "monitoring", Name: "hitron-exporter", UID: "b9b7c3c2-0000-4000-8000-000000000001"}
	k.CreateRole(t, s, "hitron", sa, []string{"hitron-read"}, "5m")
	jwt := k.MintJWT(t, sa, time.Hour)
	agent := s.StartAgent(t, vaultenv.AgentOptions{RoleID: roleID, SecretID: secretID})
	proxy := s.StartProxy(t, vaultenv.AgentOptions{RoleID: roleID, SecretID: secretID})

	tokenFile := vaultenv.WriteFile(t, "token", f.readOnly)
	roleIDFile := vaultenv.WriteFile(t, "role_id", roleID)
	secretIDFile := vaultenv.WriteFile(t, "secret_id", secretID)
	jwtFile := vaultenv.WriteFile(t, "jwt", jwt)
	badSecretIDFile := vaultenv.WriteFile(t, "secret_id", "4f1a5d3e-0000-4000-8000-00000000bad1")
	foreignJWT := k.MintForeignJWT(t, sa)
	foreignJWTFile := vaultenv.WriteFile(t, "jwt", foreignJWT)
	revoked := s.CreateToken(t, vaultenv.TokenOptions{Policies: []string{"hitron-read"}})
	s.RevokeToken(t, revoked)
	revokedFile := vaultenv.WriteFile(t, "token", revoked)

	tests := []struct {
		name    string
		block   string
		env     map[string]string
		reason  string
		secrets []string
	}{
		{name: "token file", block: tokenBlock(s.Addr, tokenFile, "")},
		{name: "token from VAULT_TOKEN and address from VAULT_ADDR", block: "auth: {method: token}\n",
			env: map[string]string{"VAULT_TOKEN": f.readOnly, "VAULT_ADDR": s.Addr}},
		{name: "approle", block: fmt.Sprintf("address: %s\nauth: {method: approle, role_id_file: %s, secret_id_file: %s}\n", s.Addr, roleIDFile, secretIDFile)},
		{name: "kubernetes", block: fmt.Sprintf("address: %s\nauth: {method: kubernetes, role: hitron, mount: k8s, jwt_file: %s}\n", s.Addr, jwtFile)},
		{name: "agent api_proxy", block: fmt.Sprintf("address: %s\nauth: {method: agent}\n", agent.Addr), env: map[string]string{"VAULT_TOKEN": "must-not-be-sent"}},
		{name: "vault proxy", block: fmt.Sprintf("address: %s\nauth: {method: agent}\n", proxy.Addr)},
		{name: "agent without listener token is denied by the server", block: fmt.Sprintf("address: %s\nauth: {method: agent}\n", s.Addr),
			reason: secrets.ReasonPermissionDenied},
		{name: "revoked token", block: tokenBlock(s.Addr, revokedFile, ""), reason: secrets.ReasonAuthFailed, secrets: []string{revoked}},
		{name: "missing token file", block: tokenBlock(s.Addr, "/nonexistent/token", ""), reason: secrets.ReasonAuthFailed},
		{name: "approle wrong secret id", block: fmt.Sprintf("address: %s\nauth: {method: approle, role_id_file: %s, secret_id_file: %s}\n", s.Addr, roleIDFile, badSecretIDFile),
			reason: secrets.ReasonAuthFailed, secrets: []string{"4f1a5d3e-0000-4000-8000-00000000bad1"}},
		{name: "kubernetes foreign key", block: fmt.Sprintf("address: %s\nauth: {method: kubernetes, role: hitron, mount: k8s, jwt_file: %s}\n", s.Addr, foreignJWTFile),
			reason: secrets.ReasonAuthFailed, secrets: []string{foreignJWT}},
		{name: "kubernetes unknown role", block: fmt.Sprintf("address: %s\nauth: {method: kubernetes, role: nope, mount: k8s, jwt_file: %s}\n", s.Addr, jwtFile),
			reason: secrets.ReasonAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, logs := newProvider(t, tc.block)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			startErr := p.Start(ctx)
			res, err := fetch(t, p, modem)
			if tc.reason != "" {
				wantReason(t, err, tc.reason)
				if tc.reason == secrets.ReasonAuthFailed {
					wantReason(t, startErr, tc.reason)
				}
			} else {
				if startErr != nil {
					t.Fatalf("Start() = %v", startErr)
				}
				wantCreds(t, res, err, "admin", modemPwd)
			}
			leaks := append([]string{f.readOnly, roleID, secretID, jwt, modemPwd, "must-not-be-sent"}, tc.secrets...)
			assertNoLeak(t, logs, err, leaks...)
			assertNoLeak(t, logs, startErr, leaks...)
		})
	}
}

// TestUnavailable checks that a sealed, stopped or silent Vault gives
// backend_unavailable (or timeout for the caller's deadline) quickly.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tokenFile := vaultenv.WriteFile(t, "token", f.readOnly)

	// A listener that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()

	p, logs := newProvider(t, tokenBlock(f.s.Addr, tokenFile, "timeout: 2s\n"))
	res, err := fetch(t, p, modem)
	wantCreds(t, res, err, "admin", modemPwd)

	tests := []struct {
		name     string
		block    string
		deadline time.Duration
		setup    func(t *testing.T)
		reason   string
		errHas   string
		maxTime  time.Duration
	}{
		{name: "closed port", block: tokenBlock(vaultenv.ClosedAddr(t), tokenFile, "timeout: 1s\n"), deadline: 10 * time.Second,
			reason: secrets.ReasonUnavailable, errHas: "refused", maxTime: time.Second},
		{name: "silent server hits provider timeout", block: tokenBlock("http://"+silent.Addr().String(), tokenFile, "timeout: 500ms\n"), deadline: 10 * time.Second,
			reason: secrets.ReasonUnavailable, errHas: "no answer within 500ms", maxTime: 2 * time.Second},
		{name: "silent server hits caller deadline", block: tokenBlock("http://"+silent.Addr().String(), tokenFile, "timeout: 30s\n"), deadline: 300 * time.Millisecond,
			reason: secrets.ReasonTimeout, maxTime: 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, qlogs := newProvider(t, tc.block)
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			begin := time.Now()
			_, err := q.Fetch(ctx, "hitron/"+modem)
			if d := time.Since(begin); d > tc.maxTime {
				t.Fatalf("Fetch took %s, want at most %s", d, tc.maxTime)
			}
			wantReason(t, err, tc.reason)
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %q does not mention %q", err, tc.errHas)
			}
			assertNoLeak(t, qlogs, err, f.readOnly)
		})
	}

	t.Run("sealed", func(t *testing.T) {
		f.s.Seal(t)
		begin := time.Now()
		_, err := fetch(t, p, modem)
		if d := time.Since(begin); d > time.Second {
			t.Fatalf("Fetch took %s while sealed", d)
		}
		wantReason(t, err, secrets.ReasonUnavailable)
		if !strings.Contains(err.Error(), "sealed") {
			t.Fatalf("error %q does not say sealed", err)
		}
		f.s.Unseal(t)
		res, err := fetch(t, p, modem)
		wantCreds(t, res, err, "admin", modemPwd)
		assertNoLeak(t, logs, err, f.readOnly)
	})
}

// TestTLS reads over HTTPS from a -dev-tls server, trusting its CA through
// ca_file or $VAULT_CACERT, and fails cleanly without it.
func TestTLS(t *testing.T) {
	s := vaultenv.StartTLS(t)
	s.WriteSecret(t, "secret", 2, "hitron/"+modem, map[string]any{"username": "admin", "password": modemPwd})
	tokenFile := vaultenv.WriteFile(t, "token", s.RootToken)
	tests := []struct {
		name   string
		extra  string
		env    string
		reason string
		errHas string
	}{
		{name: "ca_file", extra: "ca_file: " + s.CACert + "\n"},
		{name: "VAULT_CACERT", env: s.CACert},
		{name: "untrusted", reason: secrets.ReasonUnavailable, errHas: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VAULT_CACERT", tc.env)
			p, logs := newProvider(t, tokenBlock(s.Addr, tokenFile, tc.extra))
			res, err := fetch(t, p, modem)
			if tc.reason != "" {
				wantReason(t, err, tc.reason)
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %q does not mention %q", err, tc.errHas)
				}
			} else {
				wantCreds(t, res, err, "admin", modemPwd)
			}
			assertNoLeak(t, logs, err, s.RootToken, modemPwd)
		})
	}
}

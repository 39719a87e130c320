package vaultenv

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestServerHelpers(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()

	s.EnableKV(t, "kv1", 1)
	s.WriteSecret(t, "kv1", 1, "hitron/a", map[string]any{"username": "u1", "password": "p1"})
	s.WriteSecret(t, "secret", 2, "hitron/b", map[string]any{"username": "u2", "password": "p2"})
	audit := s.EnableFileAudit(t)

	v1, err := c.KVv1("kv1").Get(ctx, "hitron/a")
	if err != nil || v1.Data["password"] != "p1" {
		t.Fatalf("kv1 read = %v, %v", v1, err)
	}
	v2, err := c.KVv2("secret").Get(ctx, "hitron/b")
	if err != nil || v2.Data["password"] != "p2" {
		t.Fatalf("kv2 read = %v, %v", v2, err)
	}
	if n := audit.Count(t, "read", "secret/data/hitron/b"); n != 1 {
		t.Fatalf("audit count = %d, want 1", n)
	}

	s.PutPolicy(t, "hitron-read", ReadPolicy("secret/data/hitron/*"))
	tok := s.CreateToken(t, TokenOptions{Policies: []string{"hitron-read"}, TTL: "1m"})
	if ttl := s.TokenTTL(t, tok); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("token ttl = %s", ttl)
	}
	if _, err := s.ClientWithToken(t, tok).KVv1("kv1").Get(ctx, "hitron/a"); err == nil {
		t.Fatal("policy did not deny kv1")
	}
	s.RevokeToken(t, tok)
	if _, err := s.ClientWithToken(t, tok).KVv2("secret").Get(ctx, "hitron/b"); err == nil {
		t.Fatal("revoked token still works")
	}

	roleID, secretID := s.AppRole(t, "hitron", AppRoleOptions{Policies: []string{"hitron-read"}, TokenTTL: "1m"})
	sec, err := NewClient(t, s.Addr, "").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil || sec.Auth == nil || !strings.Contains(strings.Join(sec.Auth.Policies, ","), "hitron-read") {
		t.Fatalf("approle login = %v, %v", sec, err)
	}

	k := s.EnableKubernetesAuth(t, "")
	sa := ServiceAccount{Namespace: "monitoring", Name: "hitron-exporter", UID: "1234"}
	k.CreateRole(t, s, "hitron", sa, []string{"hitron-read"}, "1m")
	sec, err = NewClient(t, s.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "hitron", "jwt": k.MintJWT(t, sa, time.Hour)})
	if err != nil || sec.Auth == nil {
		t.Fatalf("kubernetes login = %v, %v", sec, err)
	}
	if _, err := NewClient(t, s.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "hitron", "jwt": k.MintForeignJWT(t, sa)}); err == nil {
		t.Fatal("kubernetes login with a foreign key succeeded")
	}
	k.Deny(sa)
	if _, err := NewClient(t, s.Addr, "").Logical().Write("auth/kubernetes/login", map[string]any{"role": "hitron", "jwt": k.MintJWT(t, sa, time.Hour)}); err == nil {
		t.Fatal("kubernetes login for a denied service account succeeded")
	}

	s.Seal(t)
	if _, err := c.KVv2("secret").Get(ctx, "hitron/b"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("read while sealed = %v, want 503", err)
	}
	s.Unseal(t)
	if _, err := c.KVv2("secret").Get(ctx, "hitron/b"); err != nil {
		t.Fatalf("read after unseal = %v", err)
	}
}

func TestAgentAndProxy(t *testing.T) {
	s := Start(t)
	s.WriteSecret(t, "secret", 2, "hitron/m", map[string]any{"username": "admin", "password": "first"})
	s.PutPolicy(t, "hitron-read", ReadPolicy("secret/data/hitron/*"))
	roleID, secretID := s.AppRole(t, "hitron", AppRoleOptions{Policies: []string{"hitron-read"}})

	a := s.StartAgent(t, AgentOptions{RoleID: roleID, SecretID: secretID, Templates: []Template{{
		Destination: "creds.yaml",
		Contents:    `{{ with secret "secret/data/hitron/m" }}password: {{ .Data.data.password | toJSON }}{{ end }}`,
	}}})
	b, err := os.ReadFile(a.Templates[0])
	if err != nil || string(b) != `password: "first"` {
		t.Fatalf("rendered %q, %v", b, err)
	}
	for _, addr := range []string{a.Addr, s.StartProxy(t, AgentOptions{RoleID: roleID, SecretID: secretID}).Addr} {
		kv, err := NewClient(t, addr, "").KVv2("secret").Get(context.Background(), "hitron/m")
		if err != nil || kv.Data["username"] != "admin" {
			t.Fatalf("tokenless read through %s = %v, %v", addr, kv, err)
		}
	}
}

func TestClosedAddrRefuses(t *testing.T) {
	_, err := NewClient(t, ClosedAddr(t), "x").Logical().Read("sys/health")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("read from closed port = %v, want connection refused", err)
	}
}

func TestTLSServerAndAgent(t *testing.T) {
	s := StartTLS(t)
	if !strings.HasPrefix(s.Addr, "https://127.0.0.1:") || s.CACert == "" {
		t.Fatalf("Addr %q CACert %q", s.Addr, s.CACert)
	}
	s.WriteSecret(t, "secret", 2, "hitron/m", map[string]any{"username": "admin", "password": "tls"})
	s.PutPolicy(t, "hitron-read", ReadPolicy("secret/data/hitron/*"))
	roleID, secretID := s.AppRole(t, "hitron", AppRoleOptions{Policies: []string{"hitron-read"}})
	a := s.StartProxy(t, AgentOptions{RoleID: roleID, SecretID: secretID})
	kv, err := NewClient(t, a.Addr, "").KVv2("secret").Get(context.Background(), "hitron/m")
	if err != nil || kv.Data["password"] != "tls" {
		t.Fatalf("read through proxy to TLS server = %v, %v", kv, err)
	}
	if _, err := NewClient(t, s.Addr, s.RootToken).Logical().Read("sys/health"); err == nil {
		t.Fatal("a client without the CA trusted the dev TLS certificate")
	}
}

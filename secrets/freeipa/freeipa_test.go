package freeipa

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestRetrieve reads the modem's vaults through a real KDC and the IPA
// emulator in each server flavour.
func TestRetrieve(t *testing.T) {
	tests := []struct {
		name      string
		emu       ipaemu.Options
		extra     []string
		symmetric bool
		params    []string
		wantUser  string
		wantPass  string
		wantCalls map[string]int
	}{
		{
			name: "standard vault, AES", wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"login": 1, "login_kerberos": 1, "vault_show": 2, "vaultconfig_show": 1,
				"vault_retrieve_internal": 2, "wrap:aes-128-cbc": 2, "unwrap:pkcs1v15": 2},
		},
		{
			name: "legacy server, 3DES without wrapping_algo", emu: ipaemu.Options{Legacy: true},
			wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"vault_retrieve_internal": 2, "wrap:des-ede3-cbc": 2, "wrap:aes-128-cbc": 0},
		},
		{
			name: "OAEP-mode KRA: one 3001 then OAEP, remembered", emu: ipaemu.Options{KRAOAEP: true},
			wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"vault_retrieve_internal": 3, "3001": 1, "unwrap:oaep": 2, "wrap:aes-128-cbc": 2},
		},
		{
			name: "no 3DES on the server", emu: ipaemu.Options{No3DES: true},
			wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"wrap:aes-128-cbc": 2},
		},
		{
			name: "strict Referer (post-2024 server)", emu: ipaemu.Options{StrictReferer: true},
			wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"400": 0, "911": 0, "vault_retrieve_internal": 2},
		},
		{
			name: "symmetric vaults with a password file", symmetric: true,
			wantUser: modemUser, wantPass: modemPass,
			wantCalls: map[string]int{"vault_show": 2, "vault_retrieve_internal": 2},
		},
		{
			name: "ipa_vault_namespace=user:", params: []string{"ipa_vault_namespace=user:alice"},
			wantUser: aliceUser, wantPass: alicePass,
		},
		{
			name: "ipa_vault_namespace=service:", params: []string{"ipa_vault_namespace=service:" + otherService},
			wantUser: otherUser, wantPass: otherPass,
		},
		{
			name: "vault_owner template over the target", extra: []string{`vault_owner: "service:{{ .Target }}"`},
			wantUser: otherUser, wantPass: otherPass,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.emu)
			extra := tc.extra
			if tc.symmetric {
				for _, v := range []struct{ name, secret string }{{"usr", modemUser + "\n"}, {"pwd", modemPass}} {
					if err := e.emu.ArchiveSymmetric(modemOwner, v.name, []byte(v.secret), vaultPass, e.member); err != nil {
						t.Fatal(err)
					}
				}
				extra = append(extra, "vault_password_file: "+e.pwFile)
			}
			p := e.started(t, extra...)
			target := modemHost
			if len(tc.extra) > 0 {
				target = otherService
			}
			got, err := fetch(t, p, target, tc.params...)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			wantCreds(t, got, tc.wantUser, tc.wantPass)
			wantCalls(t, e.emu, tc.wantCalls)
		})
	}
}

// TestSessionReuse checks that the ipa_session cookie and the KRA
// configuration are reused: a second fetch does no SPNEGO login.
func TestSessionReuse(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	p := e.started(t)
	for i := 0; i < 3; i++ {
		got, err := fetch(t, p, modemHost)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		wantCreds(t, got, modemUser, modemPass)
	}
	wantCalls(t, e.emu, map[string]int{"login": 1, "login_kerberos": 1, "vaultconfig_show": 1,
		"vault_show": 6, "vault_retrieve_internal": 6, "401": 0})
	if n := requests(t, p, "kdc_tgs_req"); n != 1 {
		t.Errorf("TGS requests = %v, want 1 (one service ticket for one login)", n)
	}
}

// TestSessionExpiry checks the reaction to a 401 on a JSON-RPC call: one
// new SPNEGO login and one retry of the same call.
func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name   string
		emu    ipaemu.Options
		expire func(e *testEnv)
	}{
		{name: "server forgot the session", expire: func(e *testEnv) { e.emu.ExpireSessions() }},
		{name: "short session lifetime", emu: ipaemu.Options{SessionTTL: 500 * time.Millisecond},
			expire: func(*testEnv) { time.Sleep(700 * time.Millisecond) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.emu)
			p := e.started(t)
			if _, err := fetch(t, p, modemHost); err != nil {
				t.Fatalf("first fetch: %v", err)
			}
			tc.expire(e)
			e.emu.ResetCalls()
			got, err := fetch(t, p, modemHost)
			if err != nil {
				t.Fatalf("fetch after expiry: %v", err)
			}
			wantCreds(t, got, modemUser, modemPass)
			wantCalls(t, e.emu, map[string]int{"401": 1, "login": 1, "login_kerberos": 1, "vault_show": 2, "vault_retrieve_internal": 2})
		})
	}
}

// TestCacheOneRoundTripPerOwner runs many concurrent probes through the
// credential cache: each owner costs one retrieval per TTL.
func TestCacheOneRoundTripPerOwner(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	p := e.started(t)
	cache := credcache.NewCache("corp", p, credcache.CacheOptions{TTL: time.Minute})
	reqs := []secrets.Request{
		{Target: modemHost, Host: modemHost},
		{Target: "https://" + modemHost + ":443", Host: modemHost},
		{Target: "192.0.2.1", Host: "192.0.2.1", Params: map[string]string{NamespaceParam: "user:alice"}},
		{Target: "192.0.2.2", Host: "192.0.2.2", Params: map[string]string{NamespaceParam: "user:alice"}},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 10; i++ {
		for _, r := range reqs {
			wg.Add(1)
			go func(r secrets.Request) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if _, err := cache.Get(ctx, r); err != nil {
					errs <- err
				}
			}(r)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("cache.Get: %v", err)
	}
	// Two owners, two vaults each.
	wantCalls(t, e.emu, map[string]int{"vault_retrieve_internal": 4, "vault_show": 4, "login": 1})
}

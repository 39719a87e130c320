package freeipa

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestFactoryErrors checks the errors New reports from local files alone.
func TestFactoryErrors(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	garbage := filepath.Join(e.dir, "garbage.keytab")
	if err := os.WriteFile(garbage, []byte("not a keytab at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		extra      []string
		wantReason string
		wantMsg    string
	}{
		{"keytab missing", []string{"keytab: " + filepath.Join(e.dir, "missing.keytab")}, ReasonKeytab, "cannot read keytab"},
		{"keytab is a directory", []string{"keytab: " + e.dir}, ReasonKeytab, "cannot read keytab"},
		{"keytab not a keytab", []string{"keytab: " + garbage}, ReasonKeytab, "not a valid keytab"},
		{"keytab unset, no KRB5_CLIENT_KTNAME", []string{"keytab:"}, ReasonKeytab, "KRB5_CLIENT_KTNAME"},
		{"keytab type unsupported", []string{"keytab: MEMORY:x"}, ReasonKeytab, "not supported"},
		{"principal not in keytab", []string{"principal: HTTP/other.example.test"}, ReasonPrincipalNotInKeytab, "is not in keytab"},
		{"principal in another realm", []string{"principal: " + clientPrinc + "@OTHER.TEST"}, ReasonPrincipalNotInKeytab, "is not in keytab"},
		{"server is an IP address", []string{"server: 127.0.0.1:443"}, secrets.ReasonConfig, "not an IP address"},
		{"server with a scheme", []string{"server: https://ipa.example.test"}, secrets.ReasonConfig, "host[:port]"},
		{"server unset, no default.conf", []string{"server:"}, secrets.ReasonConfig, "default.conf"},
		{"CA file missing", []string{"ca_file: " + filepath.Join(e.dir, "nope.crt")}, secrets.ReasonConfig, "ca_file"},
		{"CA file without certificates", []string{"ca_file: " + garbage}, secrets.ReasonConfig, "no PEM certificate"},
		{"krb5.conf missing", []string{"krb5_conf: " + filepath.Join(e.dir, "nope.conf")}, secrets.ReasonConfig, "krb5_conf"},
		{"vault password file missing", []string{"vault_password_file: " + filepath.Join(e.dir, "nope")}, secrets.ReasonConfig, "vault_password_file"},
		{"bad vault_owner template", []string{`vault_owner: "service:{{ .Nope }}"`}, secrets.ReasonConfig, "vault_owner"},
		{"vault_owner of another kind", []string{`vault_owner: "shared:{{ .Host }}"`}, secrets.ReasonConfig, "not service:<principal> or user:<name>"},
		{"bad vault name", []string{"username_vault: a b"}, secrets.ReasonConfig, "username_vault"},
		{"negative timeout", []string{"timeout: -1s"}, secrets.ReasonConfig, "timeout"},
		{"unknown key", []string{"sever: x"}, secrets.ReasonConfig, "sever"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.provider(t, tc.extra...)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if r := reasonOf(err); r != tc.wantReason || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("New error = %q (reason %s), want reason %s and text %q", err, r, tc.wantReason, tc.wantMsg)
			}
		})
	}
}

// TestRuntimeErrors maps every failure a user can act on to its reason,
// with the real KDC and the emulator producing the failure.
func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		name       string
		emu        ipaemu.Options
		env        []envOption
		extra      []string
		params     []string
		setup      func(t *testing.T, e *testEnv)
		startErr   string // reason Start must return, if any
		wantReason string
		wantMsg    string
	}{
		{
			name: "KDC unreachable", setup: func(t *testing.T, e *testEnv) { e.kdc.Stop() },
			startErr: ReasonKDCUnreachable, wantReason: ReasonKDCUnreachable, wantMsg: "no KDC of realm EXAMPLE.TEST answered",
		},
		{
			name: "clock skew", env: []envOption{withKDC(kdc.WithClockOffset(time.Hour))},
			startErr: ReasonClockSkew, wantReason: ReasonClockSkew, wantMsg: "clock skew",
		},
		{
			name: "principal deleted from the KDC",
			setup: func(t *testing.T, e *testEnv) {
				e.kdc.Kadmin(t, "delprinc -force "+clientPrinc)
			},
			startErr: ReasonKerberos, wantReason: ReasonKerberos, wantMsg: "does not know principal",
		},
		{
			name: "stale keytab (principal re-keyed)",
			setup: func(t *testing.T, e *testEnv) {
				e.kdc.Kadmin(t, "cpw -randkey "+clientPrinc)
			},
			startErr: ReasonKerberos, wantReason: ReasonKerberos, wantMsg: "rejected the keytab's key",
		},
		{
			name: "IPA server unreachable", setup: func(t *testing.T, e *testEnv) { e.emu.Close() },
			wantReason: ReasonIPAUnreachable, wantMsg: "cannot reach IPA server ipa.example.test",
		},
		{
			name:  "IPA certificate not signed by ca_file",
			setup: func(t *testing.T, e *testEnv) {}, extra: []string{"ca_file: OTHER"},
			wantReason: ReasonIPATLS, wantMsg: "not signed by a CA in ca_file",
		},
		{
			name: "IPA server refuses the ticket (its keytab is stale)",
			setup: func(t *testing.T, e *testEnv) {
				e.kdc.Kadmin(t, "cpw -randkey HTTP/"+ipaFQDN)
			},
			wantReason: ReasonIPAAuth, wantMsg: "refused the Kerberos login",
		},
		{
			name: "not a member of the vault", emu: ipaemu.Options{DenyMembership: true},
			wantReason: ReasonVaultNotFound, wantMsg: "is not a member or owner",
		},
		{
			name: "vault missing", params: []string{NamespaceParam + "=service:host/nope.example.test"},
			wantReason: ReasonVaultNotFound, wantMsg: `vault "usr" of service:host/nope.example.test not found`,
		},
		{
			name: "KRA absent", emu: ipaemu.Options{KRADisabled: true},
			wantReason: ReasonKRAUnavailable, wantMsg: "no KRA",
		},
		{
			name: "asymmetric vault",
			setup: func(t *testing.T, e *testEnv) {
				e.emu.AddVault(modemOwner, "usr", ipaemu.Vault{Type: "asymmetric", Blob: []byte(`{"data": "eA==", "encrypted_key": "eA=="}`), Members: []string{e.member}})
			},
			wantReason: ReasonWrongVaultType, wantMsg: "is asymmetric",
		},
		{
			name: "symmetric vault without vault_password_file",
			setup: func(t *testing.T, e *testEnv) {
				if err := e.emu.ArchiveSymmetric(modemOwner, "usr", []byte(modemUser), vaultPass, e.member); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: ReasonWrongVaultType, wantMsg: "set vault_password_file",
		},
		{
			name: "wrong symmetric vault password", extra: []string{"vault_password_file: WRONGPW"},
			setup: func(t *testing.T, e *testEnv) {
				if err := e.emu.ArchiveSymmetric(modemOwner, "usr", []byte(modemUser), vaultPass, e.member); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: ReasonVaultPassword, wantMsg: "password in vault_password_file is wrong",
		},
		{
			name: "nothing archived",
			setup: func(t *testing.T, e *testEnv) {
				e.emu.AddVault(modemOwner, "pwd", ipaemu.Vault{Type: "standard", Members: []string{e.member}})
			},
			wantReason: ReasonVaultEmpty, wantMsg: "no archived data",
		},
		{
			name: "empty secret (fresh vault-add)",
			setup: func(t *testing.T, e *testEnv) {
				e.emu.ArchiveStandard(modemOwner, "pwd", []byte("\n"), e.member)
			},
			wantReason: secrets.ReasonInvalid, wantMsg: `vault "pwd" of service:host/cm-hitron.example.test is empty`,
		},
		{
			name: "bad ipa_vault_namespace", params: []string{NamespaceParam + "=group:admins"},
			wantReason: secrets.ReasonConfig, wantMsg: "not service:<principal> or user:<name>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.emu, tc.env...)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			extra := append([]string(nil), tc.extra...)
			for i, x := range extra {
				x = strings.ReplaceAll(x, "OTHER", e.emu.OtherCAFile)
				extra[i] = strings.ReplaceAll(x, "WRONGPW", testkit.WriteFile(t, filepath.Join(e.dir, "wrong-pw"), "not the password\n"))
			}
			p, err := e.provider(t, extra...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			err = p.Start(ctx)
			if r := reasonOf(err); (tc.startErr == "" && err != nil) || (tc.startErr != "" && r != tc.startErr) {
				t.Fatalf("Start error = %v (reason %s), want reason %q", err, r, tc.startErr)
			}
			_, err = fetch(t, p, modemHost, tc.params...)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if r := reasonOf(err); r != tc.wantReason || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Fetch error = %q (reason %s), want reason %s and text %q", err, r, tc.wantReason, tc.wantMsg)
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestTimeout checks that a server that accepts connections but never
// answers costs at most `timeout`, and is reported as reason timeout.
func TestTimeout(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, l.Addr().String())
	}
	p, err := newProvider(secrets.Options{Profile: "corp", Decode: decoder(e.config("timeout: 300ms")), Logger: e.logger},
		func(string) string { return "" }, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = fetch(t, p, modemHost)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("fetch took %v with timeout 300ms", took)
	}
	if reasonOf(err) != secrets.ReasonTimeout {
		t.Fatalf("fetch error = %v (reason %s), want reason timeout", err, reasonOf(err))
	}
}

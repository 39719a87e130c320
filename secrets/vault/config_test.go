package vault

import (
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
	tests := []struct {
		name    string
		block   string
		wantErr string // substring; empty means success
	}{
		{"token file", "address: http://127.0.0.1:1\nauth: {method: token, token_file: /x}\n", ""},
		{"approle", "address: http://127.0.0.1:1\nauth: {method: approle, role_id_file: /r, secret_id_file: /s}\n", ""},
		{"kubernetes", "address: http://127.0.0.1:1\nauth: {method: kubernetes, role: hitron}\n", ""},
		{"agent", "address: http://127.0.0.1:1\nauth: {method: agent}\nkv_version: 1\nmount: kv\n", ""},
		{"missing address", "auth: {method: agent}\n", "address must be set"},
		{"unknown field", "address: http://127.0.0.1:1\nauth: {method: agent}\nadress: x\n", "field adress not found"},
		{"unknown auth field", "address: http://127.0.0.1:1\nauth: {method: agent, secret_id: x}\n", "field secret_id not found"},
		{"no method", "address: http://127.0.0.1:1\n", "auth.method must be set"},
		{"bad method", "address: http://127.0.0.1:1\nauth: {method: userpass}\n", `auth.method "userpass" is unknown`},
		{"token without file or env", "address: http://127.0.0.1:1\nauth: {method: token}\n", "auth.token_file must be set"},
		{"approle without role id", "address: http://127.0.0.1:1\nauth: {method: approle}\n", "auth.role_id_file must be set"},
		{"kubernetes without role", "address: http://127.0.0.1:1\nauth: {method: kubernetes}\n", "auth.role must be set"},
		{"field of another method", "address: http://127.0.0.1:1\nauth: {method: agent, token_file: /x}\n", "auth.token_file is not used by method agent"},
		{"kv version", "address: http://127.0.0.1:1\nauth: {method: agent}\nkv_version: 3\n", "kv_version must be 1 or 2"},
		{"bad mount", "address: http://127.0.0.1:1\nauth: {method: agent}\nmount: a/../b\n", "not a valid Vault mount path"},
		{"bad template", "address: http://127.0.0.1:1\nauth: {method: agent}\npath: 'hitron/{{ .Target '\n", "path:"},
		{"same keys", "address: http://127.0.0.1:1\nauth: {method: agent}\nusername_key: k\npassword_key: k\n", "must differ"},
		{"missing ca file", "address: https://127.0.0.1:1\nca_file: /nonexistent/ca.pem\nauth: {method: agent}\n", "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(secrets.Options{Profile: "p", Decode: strictDecode(tc.block)})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New() = %v, want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New() = %v, want error containing %q", err, tc.wantErr)
			case tc.wantErr != "" && secrets.ReasonOf(err) != secrets.ReasonConfig:
				t.Fatalf("reason = %q, want %q", secrets.ReasonOf(err), secrets.ReasonConfig)
			}
		})
	}
}

func TestNewDefaultsFromEnvironment(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:8200")
	t.Setenv("VAULT_TOKEN", "hvs.from-env")
	p, err := New(secrets.Options{Profile: "p", Decode: strictDecode("auth: {method: token}\n")})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	vp := p.(*Provider)
	want := Config{
		Address: "http://127.0.0.1:8200", Auth: AuthConfig{Method: "token"}, Mount: "secret", KVVersion: 2,
		Path: "hitron/{{ .Target }}", UsernameKey: "username", PasswordKey: "password", Timeout: 5 * time.Second,
	}
	if vp.cfg != want {
		t.Fatalf("cfg = %+v, want %+v", vp.cfg, want)
	}
	if vp.client.Token() != "" {
		t.Fatal("the client picked up $VAULT_TOKEN before login")
	}
	if vp.Kind() != "vault" || Kind().Local || Kind().New == nil {
		t.Fatalf("Kind() = %q / %+v", vp.Kind(), Kind())
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		req        secrets.Request
		want       string
		wantReason string
		wantErr    string
	}{
		{name: "ip and port", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "192.168.0.1:443", Host: "192.168.0.1"}, want: "hitron/192.168.0.1:443"},
		{name: "host name", path: "hitron/{{ .Host }}/login", req: secrets.Request{Target: "https://cgn.lan:8443", Host: "cgn.lan"}, want: "hitron/cgn.lan/login"},
		{name: "ipv6", path: "m/{{ .Target }}", req: secrets.Request{Target: "[2001:db8::1]:443", Host: "2001:db8::1"}, want: "m/[2001:db8::1]:443"},
		{name: "static path", path: "hitron/all", req: secrets.Request{Target: "../../x"}, want: "hitron/all"},
		{name: "url target", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "https://cgn.lan", Host: "cgn.lan"}, wantReason: ReasonInvalidTarget, wantErr: "use {{ .Host }}"},
		{name: "dot dot", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "..", Host: ".."}, wantReason: ReasonInvalidTarget, wantErr: `".."`},
		{name: "climb", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "../sys/policy/root"}, wantReason: ReasonInvalidTarget},
		{name: "slash", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "a/b"}, wantReason: ReasonInvalidTarget},
		{name: "encoded slash", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "a%2fb"}, wantReason: ReasonInvalidTarget},
		{name: "query", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "a?version=1"}, wantReason: ReasonInvalidTarget},
		{name: "backslash", path: "hitron/{{ .Target }}", req: secrets.Request{Target: `a\..\b`}, wantReason: ReasonInvalidTarget},
		{name: "space", path: "hitron/{{ .Target }}", req: secrets.Request{Target: "a b"}, wantReason: ReasonInvalidTarget},
		{name: "empty", path: "hitron/{{ .Target }}", req: secrets.Request{}, wantReason: ReasonInvalidTarget},
		{name: "empty segment from template", path: "hitron//{{ .Target }}", req: secrets.Request{Target: "a"}, wantReason: ReasonInvalidTarget},
		{name: "unknown field", path: "hitron/{{ .Nope }}", req: secrets.Request{Target: "a"}, wantReason: secrets.ReasonConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block := "address: http://127.0.0.1:1\nauth: {method: agent}\npath: '" + tc.path + "'\n"
			p, err := New(secrets.Options{Profile: "p", Decode: strictDecode(block)})
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			got, err := p.Locate(tc.req)
			if tc.wantReason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Locate() = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Locate() = %q, want error with reason %q", got, tc.wantReason)
			}
			if r := secrets.ReasonOf(err); r != tc.wantReason || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Locate() error = %v (reason %q), want reason %q containing %q", err, r, tc.wantReason, tc.wantErr)
			}
		})
	}
}

func TestVaultMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"permission denied"}, "permission denied"},
		{[]string{"1 error occurred:\n\t* permission denied\n\n"}, "permission denied"},
		{[]string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"}, "permission denied; invalid token"},
		{[]string{"a", "b"}, "a; b"},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := vaultMessages(tc.in); got != tc.want {
			t.Errorf("vaultMessages(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

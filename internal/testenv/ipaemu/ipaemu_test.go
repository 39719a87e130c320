package ipaemu

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/kdc"
)

// TestProtocol checks the emulator's front end and JSON-RPC envelope
// against the behaviour the reference describes for a real server.
func TestProtocol(t *testing.T) {
	k := kdc.Start(t)
	k.AddPrincipal(t, "HTTP/client.example.test")
	k.AddPrincipal(t, "HTTP/ipa.example.test")
	ckt := k.Keytab(t, "client.keytab", "HTTP/client.example.test")
	emu := Start(t, "ipa.example.test", k.Realm, k.Keytab(t, "http.keytab", "HTTP/ipa.example.test"), Options{})

	cfg, err := config.Load(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ckt)
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewWithKeytab("HTTP/client.example.test", k.Realm, kt, cfg, client.DisablePAFXFAST(true))
	defer cl.Destroy()
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(emu.CAFile)
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{DialContext: emu.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: emu.FQDN}}}
	base := "https://" + emu.Server()
	referer := "https://" + emu.FQDN + "/ipa"

	do := func(t *testing.T, req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// No credentials: 401 with a bare challenge and an HTML body.
	req, _ := http.NewRequest(http.MethodGet, base+"/ipa/session/login_kerberos", nil)
	resp, body := do(t, req)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Negotiate" || !strings.Contains(body, "<html>") {
		t.Fatalf("anonymous: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// A bad token: 401 without a new challenge.
	req, _ = http.NewRequest(http.MethodGet, base+"/ipa/session/login_kerberos", nil)
	req.Header.Set("Authorization", "Negotiate YIIBAAAA")
	resp, _ = do(t, req)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// A good SPNEGO token (lowercase scheme too): 200, empty body, cookie,
	// accept-completed reply.
	req, _ = http.NewRequest(http.MethodGet, base+"/ipa/session/login_kerberos", nil)
	req.Header.Set("Referer", referer)
	if err := spnego.SetSPNEGOHeader(cl, req, "HTTP/"+emu.FQDN); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Negotiate", "negotiate", 1))
	resp, body = do(t, req)
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "ipa_session" {
			cookie = c.Value
		}
	}
	if resp.StatusCode != 200 || body != "" || !strings.HasPrefix(cookie, "MagBearerToken=") ||
		resp.Header.Get("WWW-Authenticate") != "Negotiate "+acceptCompleted || resp.Header.Get("IPASESSION") != cookie {
		t.Fatalf("login: %d %q cookie %q headers %v", resp.StatusCode, body, cookie, resp.Header)
	}
	// Replaying the same token is refused.
	resp, _ = do(t, req.Clone(req.Context()))
	if resp.StatusCode != 401 {
		t.Fatalf("replayed token: %d, want 401", resp.StatusCode)
	}

	call := func(t *testing.T, path, ctype, ref string, payload string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewBufferString(payload))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if ref != "" {
			req.Header.Set("Referer", ref)
		}
		req.Header.Set("Cookie", "ipa_session="+cookie)
		resp, body := do(t, req)
		var env map[string]any
		_ = json.Unmarshal([]byte(body), &env)
		return resp.StatusCode, env
	}
	errCode := func(env map[string]any) float64 {
		if e, ok := env["error"].(map[string]any); ok {
			return e["code"].(float64)
		}
		return 0
	}
	tests := []struct {
		name, path, ctype, referer, payload string
		strict                              bool
		wantStatus                          int
		wantCode                            float64
	}{
		{"ping", "/ipa/session/json", "application/json", referer, `{"method":"ping","params":[[],{}],"id":0}`, false, 200, 0},
		{"method with /1", "/ipa/json", "application/json", referer, `{"method":"vaultconfig_show/1","params":[[],{"version":"2.251"}],"id":0}`, false, 200, 0},
		{"no Referer", "/ipa/session/json", "application/json", "", `{"method":"ping","params":[[],{}],"id":0}`, false, 200, 911},
		{"Referer of another host", "/ipa/session/json", "application/json", "https://evil.example.test/ipa", `{"method":"ping","params":[[],{}],"id":0}`, false, 200, 911},
		{"strict Referer", "/ipa/session/json", "application/json", "", `{"method":"ping","params":[[],{}],"id":0}`, true, 400, 0},
		{"no Content-Type", "/ipa/session/json", "", referer, `{"method":"ping","params":[[],{}],"id":0}`, false, 200, 905},
		{"bad envelope", "/ipa/session/json", "application/json", referer, `{"method":"ping","params":[],"id":0}`, false, 200, 909},
		{"unknown command", "/ipa/session/json", "application/json", referer, `{"method":"vault_retrieve","params":[["usr"],{}],"id":0}`, false, 200, 905},
		{"major version mismatch", "/ipa/session/json", "application/json", referer, `{"method":"ping","params":[[],{"version":"3.0"}],"id":0}`, false, 200, 901},
		{"unknown option", "/ipa/session/json", "application/json", referer, `{"method":"vault_show","params":[["usr"],{"nope":1}],"id":0}`, false, 200, 3005},
		{"exclusive options", "/ipa/session/json", "application/json", referer, `{"method":"vault_show","params":[["usr"],{"service":"host/x","username":"y"}],"id":0}`, false, 200, 4303},
		{"schema up to date", "/ipa/json", "application/json", referer, `{"method":"schema","params":[[],{"known_fingerprints":["ipaemu-modern-1"],"version":"2.170"}],"id":0}`, false, 200, 4311},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emu.Set(func(o *Options) { o.StrictReferer = tc.strict })
			status, env := call(t, tc.path, tc.ctype, tc.referer, tc.payload)
			if status != tc.wantStatus || errCode(env) != tc.wantCode {
				t.Fatalf("status %d, envelope %v; want %d and error code %v", status, env, tc.wantStatus, tc.wantCode)
			}
			if status == 200 && env["principal"] != "HTTP/client.example.test@"+k.Realm {
				t.Fatalf("principal = %v", env["principal"])
			}
		})
	}
}

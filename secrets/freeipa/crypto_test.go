package freeipa

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/ipaemu"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTransportVectors decrypts the reference's test vectors (§7.4).
func TestTransportVectors(t *testing.T) {
	const aesKey = "00112233445566778899aabbccddeeff"
	const desKey = "0102030405060708090a0b0c0d0e0f101112131415161718"
	tests := []struct {
		name, algo, key, iv, ct, plain, secret string
	}{
		{"AES usr", algoAES, aesKey, "Dw4NDAsKCQgHBgUEAwIBAA==", "a+46I9LXaUXSKfxUQmkYu0OuXTz+HJUv1T4/VXb4L3A=", `{"data": "YWRtaW4="}`, "admin"},
		{"AES pwd", algoAES, aesKey, "Dw4NDAsKCQgHBgUEAwIBAA==", "pu5GNcy6o7M1TlF6/Ogk7McxBMvcgSUXvoXhWoWmz2bO0sDdzQOcTfEmBiyRt6d8", `{"data": "UzNjcjN0LW1vZGVtLXB3IQ=="}`, "S3cr3t-modem-pw!"},
		{"3DES usr", algo3DES, desKey, "oaKjpKWmp6g=", "/2RWWe5k3J2JdPexBwypOsX6J/TbOIl1", `{"data": "YWRtaW4="}`, "admin"},
		{"3DES pwd", algo3DES, desKey, "oaKjpKWmp6g=", "/2RWWe5k3J2T8vtLvHTcKqVwNYE2OiWVfX896xeQO43NK1Y9CHFxBg==", `{"data": "UzNjcjN0LW1vZGVtLXB3IQ=="}`, "S3cr3t-modem-pw!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain, err := decryptTransport(tc.algo, mustHex(t, tc.key), mustB64(t, tc.iv), mustB64(t, tc.ct))
			if err != nil {
				t.Fatal(err)
			}
			if string(plain) != tc.plain {
				t.Fatalf("plain = %q, want %q", plain, tc.plain)
			}
			secret, err := vaultPayload(plain)
			if err != nil || string(secret) != tc.secret {
				t.Fatalf("payload = %q, %v; want %q", secret, err, tc.secret)
			}
		})
	}
}

// TestSymmetricVector checks the symmetric-vault layer of §7.4: PBKDF2,
// the Fernet key and the Fernet token.
func TestSymmetricVector(t *testing.T) {
	salt := mustB64(t, "WhfQweLzBBUmN0hZanuMnQ==")
	key, err := symmetricKey("correct horse", salt)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(key); got != "d88436751776671c9ada849b69b4ee7e9f3d28fce88ad94e217e7851912e6413" {
		t.Fatalf("PBKDF2 = %s", got)
	}
	if got := base64.StdEncoding.EncodeToString(key); got != "2IQ2dRd2Zxya2oSbabTufp89KPzoitlOIX54UZEuZBM=" {
		t.Fatalf("Fernet key = %s", got)
	}
	token, err := vaultPayload([]byte(`{"data": "Z0FBQUFBQnBWYmtBQUFFQ0F3UUZCZ2NJQ1FvTERBME9EM250d3FaMkRCbGhZTE1yTnZOQXVYSXVwbGJ5M0RuXzc4MlJmaWRtNnJNNXkzRHd1ckxwUFl1TjhQeExJMGlRS1E9PQ=="}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(token) != "gAAAAABpVbkAAAECAwQFBgcICQoLDA0OD3ntwqZ2DBlhYLMrNvNAuXIuplby3Dn_782Rfidm6rM5y3DwurLpPYuN8PxLI0iQKQ==" {
		t.Fatalf("token = %s", token)
	}
	secret, err := fernetDecrypt(key, token)
	if err != nil || string(secret) != "admin" {
		t.Fatalf("secret = %q, %v", secret, err)
	}
	wrong, _ := symmetricKey("wrong horse", salt)
	if _, err := fernetDecrypt(wrong, token); !errors.Is(err, errFernetAuth) {
		t.Fatalf("wrong password: %v, want errFernetAuth", err)
	}
	// Without base64 padding too.
	if s, err := fernetDecrypt(key, bytes.TrimRight(token, "=")); err != nil || string(s) != "admin" {
		t.Fatalf("unpadded token: %q, %v", s, err)
	}
}

func TestDecryptTransportErrors(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 16)
	iv := make([]byte, 16)
	tests := []struct {
		name     string
		algo     string
		key, iv  []byte
		data     []byte
		wantText string
	}{
		{"short nonce", algoAES, key, iv[:8], make([]byte, 16), "nonce"},
		{"ragged data", algoAES, key, iv, make([]byte, 17), "multiple"},
		{"empty data", algoAES, key, iv, nil, "multiple"},
		{"bad padding", algoAES, key, iv, make([]byte, 16), "padding"},
		{"unknown algorithm", "rc4", key, iv, make([]byte, 16), "unknown"},
		{"wrong key size", algo3DES, key, iv[:8], make([]byte, 16), "key size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decryptTransport(tc.algo, tc.key, tc.iv, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v, want %q", err, tc.wantText)
			}
		})
	}
}

func TestVaultPayload(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wrongTy bool
		err     bool
	}{
		{in: `{"data": "YWRtaW4="}`, want: "admin"},
		{in: `{"data": ""}`, want: ""},
		{in: `{"data": "YWRtaW4=", "encrypted_key": "eA=="}`, wrongTy: true},
		{in: `{"nodata": 1}`, err: true},
		{in: `not json`, err: true},
		{in: `{"data": "!!"}`, err: true},
	}
	for _, tc := range tests {
		got, err := vaultPayload([]byte(tc.in))
		var wt errWrongType
		switch {
		case tc.wrongTy && !errors.As(err, &wt):
			t.Errorf("%s: err = %v, want wrong type", tc.in, err)
		case tc.err && err == nil:
			t.Errorf("%s: no error", tc.in)
		case !tc.err && !tc.wrongTy && (err != nil || string(got) != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestChooseAlgo(t *testing.T) {
	tests := []struct {
		name      string
		def       string
		supported []string
		want      string
		err       bool
	}{
		{"old server: 3DES", "", nil, algo3DES, false},
		{"modern default", algoAES, []string{algoAES, algo3DES}, algoAES, false},
		{"3DES default", algo3DES, []string{algo3DES}, algo3DES, false},
		{"unknown default, supported fallback", "aes-256-gcm", []string{"aes-256-gcm", algoAES}, algoAES, false},
		{"nothing usable", "aes-256-gcm", []string{"aes-256-gcm"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseAlgo(&kraConfig{defaultAlgo: tc.def, supported: tc.supported})
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("chooseAlgo = %q, %v; want %q (err %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestWrapSessionKey(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, algo := range []string{algoAES, algo3DES} {
		key, err := newSessionKey(algo)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{algoAES: 16, algo3DES: 24}[algo]; len(key) != want {
			t.Fatalf("%s key is %d bytes, want %d", algo, len(key), want)
		}
		for _, oaep := range []bool{false, true} {
			w, err := wrapSessionKey(&priv.PublicKey, key, oaep)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if oaep {
				got, err = rsa.DecryptOAEP(sha256.New(), nil, priv, w, nil)
			} else {
				//lint:ignore SA1019 the FreeIPA protocol requires PKCS#1 v1.5
				got, err = rsa.DecryptPKCS1v15(nil, priv, w)
			}
			if err != nil || !bytes.Equal(got, key) || len(w) != 256 {
				t.Fatalf("%s oaep=%v: unwrap = %x, %v (wrapped %d bytes)", algo, oaep, got, err, len(w))
			}
		}
	}
}

func TestParseOwner(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "service:host/cm.example.com", want: "service:host/cm.example.com"},
		{in: "service:host/cm.example.com@EXAMPLE.COM", want: "service:host/cm.example.com@EXAMPLE.COM"},
		{in: " user:alice ", want: "user:alice"},
		{in: "user:", err: true},
		{in: "group:admins", err: true},
		{in: "shared:", err: true},
		{in: "host/cm.example.com", err: true},
		{in: "user:al ice", err: true},
		{in: "user:alice/x", err: true},
		{in: "service:host/a,b", err: true},
		{in: "service:host/cm.example.com:443", err: true},
		{in: "service:HOST/cm-1_a.example.com@EXAMPLE.COM", want: "service:HOST/cm-1_a.example.com@EXAMPLE.COM"},
		{in: "user:machine$", want: "user:machine$"},
		{in: "service:" + strings.Repeat("a", 300), err: true},
	}
	for _, tc := range tests {
		o, err := parseOwner(tc.in)
		if (err != nil) != tc.err || (err == nil && o.String() != tc.want) {
			t.Errorf("parseOwner(%q) = %v, %v; want %q (err %v)", tc.in, o, err, tc.want, tc.err)
		}
	}
	if got := (owner{kind: "user", name: "bob"}).options(); got["username"] != "bob" || len(got) != 1 {
		t.Errorf("user options = %v", got)
	}
	if got := (owner{kind: "service", name: "host/x"}).options(); got["service"] != "host/x" || len(got) != 1 {
		t.Errorf("service options = %v", got)
	}
}

// TestLocate checks the location for a request: the namespace parameter,
// else the vault_owner template (default service:host/{{ .Host }}).
func TestLocate(t *testing.T) {
	e := newEnv(t, ipaemu.Options{})
	tests := []struct {
		name    string
		owner   string
		req     secrets.Request
		want    string
		wantErr string
	}{
		{"default template uses the host", "", secrets.Request{Target: "https://cm.example.com:8443", Host: "cm.example.com"}, "service:host/cm.example.com", ""},
		{"namespace parameter wins", "", secrets.Request{Host: "cm.example.com", Params: map[string]string{NamespaceParam: "user:bob"}}, "user:bob", ""},
		{"namespace service principal", "", secrets.Request{Host: "x", Params: map[string]string{NamespaceParam: "service:host/y.example.com"}}, "service:host/y.example.com", ""},
		{"custom template", `user:{{ .Host }}`, secrets.Request{Host: "modem1"}, "user:modem1", ""},
		{"template over target", `service:HTTP/{{ .Target }}`, secrets.Request{Target: "m.example.com", Host: "m.example.com"}, "service:HTTP/m.example.com", ""},
		{"bad namespace", "", secrets.Request{Host: "x", Params: map[string]string{NamespaceParam: "x:y"}}, "", "probe parameter ipa_vault_namespace"},
		{"empty namespace", "", secrets.Request{Host: "x", Params: map[string]string{NamespaceParam: ""}}, "", "probe parameter ipa_vault_namespace"},
		{"template renders garbage", `user:{{ .Target }}`, secrets.Request{Target: "https://m:1", Host: "m"}, "", "vault_owner for target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.owner != "" {
				extra = append(extra, `vault_owner: "`+tc.owner+`"`)
			}
			p, err := e.provider(t, extra...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Locate(tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || reasonOf(err) != secrets.ReasonConfig {
					t.Fatalf("Locate = %q, %v; want config error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Locate = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestServerFromDefaultConf(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, conf, want string
	}{
		{"server key", "[global]\nbasedn = dc=example,dc=com\nrealm = EXAMPLE.COM\nserver = ipa1.example.com\nxmlrpc_uri = https://ipa2.example.com/ipa/xml\n", "ipa1.example.com"},
		{"xmlrpc_uri only", "# written by ipa-client-install\n[global]\nxmlrpc_uri = https://ipa2.example.com/ipa/xml\n", "ipa2.example.com"},
		{"other section ignored", "[other]\nserver = nope\n[global]\nserver=ipa3.example.com\n", "ipa3.example.com"},
		{"nothing", "[global]\nrealm = X\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := serverFromDefaultConf(p)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSplitServer(t *testing.T) {
	tests := []struct {
		in, host, port string
		err            bool
	}{
		{in: "ipa.example.com", host: "ipa.example.com", port: "443"},
		{in: "IPA.Example.com.", host: "ipa.example.com", port: "443"},
		{in: "ipa.example.com:8443", host: "ipa.example.com", port: "8443"},
		{in: "ipa.example.com:0", err: true},
		{in: "ipa.example.com:x", err: true},
		{in: "10.0.0.1", err: true},
		{in: "[::1]:443", err: true},
		{in: "https://ipa.example.com", err: true},
		{in: ":443", err: true},
	}
	for _, tc := range tests {
		h, p, err := splitServer(tc.in)
		if (err != nil) != tc.err || (err == nil && (h != tc.host || p != tc.port)) {
			t.Errorf("splitServer(%q) = %q, %q, %v", tc.in, h, p, err)
		}
	}
}

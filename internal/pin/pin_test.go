package pin

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	want := sha256.Sum256([]byte("x"))
	hexLower := Fingerprint(want).Hex()
	colonUpper := Fingerprint(want).String()
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"lower hex", hexLower, ""},
		{"upper colons", colonUpper, ""},
		{"mixed case colons", strings.ToLower(colonUpper[:30]) + colonUpper[30:], ""},
		{"padded", "  " + hexLower + "\n", ""},
		{"openssl prefix", "sha256 Fingerprint=" + colonUpper, ""},
		{"md5 length", strings.Repeat("ab", 16), "MD5 and SHA-1"},
		{"sha1 length", strings.Repeat("ab", 20), "MD5 and SHA-1"},
		{"too short", "abc", "64 hex digits"},
		{"not hex", strings.Repeat("zz", 32), "not hexadecimal"},
		{"empty", "", "64 hex digits"},
		// Regression: all zeros used to parse to the zero value, which
		// meant "no pin" and accepted any certificate.
		{"all zeros", strings.Repeat("0", 64), "all zeros"},
		{"all zeros with colons", strings.TrimSuffix(strings.Repeat("00:", 32), ":"), "all zeros"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !got.Equal(want) {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, got, Fingerprint(want))
			}
		})
	}
}

func TestClientConfigPin(t *testing.T) {
	var gotRequest bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotRequest = true
	}))
	defer srv.Close()
	right := Of(srv.Certificate().Raw)
	var wrong Fingerprint
	copy(wrong[:], right[:])
	wrong[0] ^= 0xff

	tests := []struct {
		name      string
		pin       Pin
		wantErr   bool
		wantMatch bool
	}{
		{"no pin", None(), false, false},
		{"right pin", Require(right), false, true},
		{"wrong pin", Require(wrong), true, false},
		// Regression: an all-zero fingerprint used to mean "no pin" and
		// accepted any certificate. As a pin it matches nothing.
		{"all-zero pin", Require(Fingerprint{}), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotRequest = false
			var obs Observation
			cfg := ClientConfig(Options{Pin: tt.pin, Observe: func(o Observation) { obs = o }})
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			resp, err := client.Get(srv.URL)
			if resp != nil {
				_ = resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if tt.wantErr && gotRequest {
				t.Fatal("server received a request over a connection whose pin did not match")
			}
			if !obs.Fingerprint.Equal(right) {
				t.Fatalf("observed %s, want %s", obs.Fingerprint, right)
			}
			if obs.Matched != tt.wantMatch {
				t.Fatalf("Matched = %v, want %v", obs.Matched, tt.wantMatch)
			}
		})
	}
}

func TestVersionAndSuiteNames(t *testing.T) {
	for in, want := range map[string]uint16{"1.2": tls.VersionTLS12, "TLS1.3": tls.VersionTLS13, "tls 1.0": tls.VersionTLS10} {
		got, err := VersionByName(in)
		if err != nil || got != want {
			t.Errorf("VersionByName(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	if _, err := VersionByName("2.0"); err == nil {
		t.Error("VersionByName(2.0) accepted")
	}
	id, err := CipherSuiteByName("TLS_RSA_WITH_3DES_EDE_CBC_SHA")
	if err != nil || id != tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA {
		t.Errorf("CipherSuiteByName = %x, %v", id, err)
	}
	if _, err := CipherSuiteByName("NOPE"); err == nil {
		t.Error("unknown suite accepted")
	}
}

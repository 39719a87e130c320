package config

import (
	"strings"
	"testing"
)

// FuzzParse: any configuration text is accepted or rejected with an error,
// never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("auths:\n  lab:\n    file:\n      path: /x\ntargets:\n  \"192.0.2.1\":\n    auth: lab\n    fingerprint: \"" + strings.Repeat("ab", 32) + "\"\n"))
	f.Add([]byte("targets:\n  a: {tls: {min_version: \"1.0\", cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]}, datasets: [dsinfo], timezone: UTC}\n"))
	f.Add([]byte("auths: [\n"))
	f.Add([]byte("auths:\n  x:\n    file: {}\n    vault: {}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse(raw)
		if err == nil && (cfg.Auths == nil || cfg.Targets == nil) {
			t.Fatal("accepted config without maps")
		}
	})
}

// FuzzParseTarget: targets parse to a host and a valid port, or fail.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "host:443", "https://cm.example.com:8443/", "[::1]:1", "::1", "http://x", "a/b", "%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := ParseTarget(s)
		if err != nil {
			return
		}
		if pt.Host == "" || pt.Port < 1 || pt.Port > 65535 {
			t.Fatalf("%q parsed to %+v", s, pt)
		}
		if strings.ContainsAny(pt.Host, "/?#@ ") {
			t.Fatalf("%q kept junk in the host %q", s, pt.Host)
		}
	})
}

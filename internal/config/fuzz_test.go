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

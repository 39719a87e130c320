package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fp = "A3:2E:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:DF:10"

func TestParseValid(t *testing.T) {
	cfg, err := Parse([]byte(`
auths:
  lab:
    file:
      path: /etc/hitron-exporter/credentials.yml
  corp:
    vault:
      address: https://vault.example.com:8200
    require_fingerprint: true
    cache:
      ttl: 2m
    allowed_targets: ["192.0.2.1", "regexp:cm-.*\\.example\\.com"]
targets:
  "192.0.2.1":
    auth: lab
    fingerprint: "` + fp + `"
    timeout: 7s
    tls:
      min_version: "1.0"
      cipher_suites: [TLS_RSA_WITH_3DES_EDE_CBC_SHA]
    datasets: [dsinfo, /data/usinfo.asp]
    timezone: Europe/London
`))
	if err != nil {
		t.Fatal(err)
	}
	lab, corp := cfg.Auths["lab"], cfg.Auths["corp"]
	if lab.Provider != "file" || corp.Provider != "vault" {
		t.Fatalf("providers: %q %q", lab.Provider, corp.Provider)
	}
	var block struct {
		Path string `yaml:"path"`
	}
	if err := lab.DecodeBlock(&block); err != nil || block.Path != "/etc/hitron-exporter/credentials.yml" {
		t.Fatalf("block: %v %q", err, block.Path)
	}
	if lab.RequiresFingerprint(true) || !corp.RequiresFingerprint(false) {
		t.Fatal("require_fingerprint defaults wrong")
	}
	if *corp.Cache.TTL != 2*time.Minute {
		t.Fatal("cache ttl")
	}
	for target, want := range map[string]bool{"192.0.2.1": true, "cm-1.example.com": true, "attacker.example": false, "192.0.2.10": false} {
		if corp.Allows(target) != want {
			t.Errorf("Allows(%q) != %v", target, want)
		}
	}
	tg := cfg.Targets["192.0.2.1"]
	if !tg.Pin.IsSet() || tg.Timeout != 7*time.Second || len(tg.Datasets) != 2 || tg.TLS.MinVersionID == 0 || len(tg.TLS.CipherIDs) != 1 || tg.Location.String() != "Europe/London" {
		t.Fatalf("target: %+v", tg)
	}
}

func TestParseErrorsNameFileLineField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "auth:\n  x: {}\n", ":1: field auth not found"},
		{"unknown profile key", "auths:\n  lab:\n    file:\n      path: x\n    cache:\n      tll: 1m\n", ":6: cache: unknown field \"tll\""},
		{"two providers", "auths:\n  lab:\n    file: {path: x}\n    vault: {}\n", "more than one provider"},
		{"bad pin", "targets:\n  \"192.0.2.1\":\n    fingerprint: abc\n", `targets["192.0.2.1"].fingerprint`},
		{"unknown auth", "targets:\n  a.example:\n    auth: nope\n", `no profile named "nope"`},
		{"bad target", "targets:\n  \"ftp://x\": {}\n", "is not supported"},
		{"http target without insecure_http", "targets:\n  \"http://x\": {}\n", "set insecure_http: true"},
		{"insecure_http on an https target", "targets:\n  x:\n    insecure_http: true\n", `targets["x"].insecure_http`},
		{"http target on auto", "targets:\n  \"http://x\":\n    insecure_http: true\n", "must name its dialect"},
		{"http target with a pin", "targets:\n  \"http://x\":\n    insecure_http: true\n    fingerprint: \"" + strings.Repeat("ab", 32) + "\"\n", "no certificate to pin"},
		{"unknown dialect", "targets:\n  x:\n    dialect: restful\n", `targets["x"].dialect`},
		{"password field without coda-userid", "targets:\n  x:\n    password_field: pwd\n", "only the coda-userid dialect"},
		{"bad password field", "targets:\n  x:\n    dialect: coda-userid\n    password_field: password\n", "must be pws"},
		{"bad tls", "targets:\n  a: {tls: {min_version: \"9\"}}\n", "tls.min_version"},
		{"bad dataset", "targets:\n  a: {datasets: [secrets]}\n", "unknown dataset"},
		{"bad zone", "targets:\n  a: {timezone: Mars/Olympus}\n", "timezone"},
		{"bad regexp", "auths:\n  x:\n    file: {path: p}\n    allowed_targets: [\"regexp:(\"]\n", "allowed_targets"},
		{"syntax", "auths: [\n", "did not find"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, false)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), path) {
				t.Fatalf("error %q does not name %q with the file", err, tt.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	cfg, err := Load(filepath.Join(t.TempDir(), "none.yml"), true)
	if err != nil || len(cfg.Auths) != 0 {
		t.Fatalf("missing default: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yml"), false); err == nil {
		t.Fatal("missing explicit file accepted")
	}
}

func TestCanonicalLookup(t *testing.T) {
	cfg, err := Parse([]byte(`
auths:
  lab:
    file: {path: /x}
    allowed_targets: ["https://CM.example.com", "regexp:modem-[0-9]+\\.example\\.com"]
targets:
  "192.0.2.1":
    fingerprint: "` + fp + `"
  "cm.example.com":
    address: 198.51.100.7
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, spelling := range []string{"192.0.2.1", "192.0.2.1:443", "https://192.0.2.1", "HTTPS://192.0.2.1:443/"} {
		if cfg.Lookup(spelling) == nil {
			t.Errorf("Lookup(%q) missed the configured modem", spelling)
		}
	}
	if cfg.Lookup("192.0.2.1:8443") != nil {
		t.Error("another port matched")
	}
	if a := cfg.Lookup("cm.example.com").Address; a != "198.51.100.7:443" {
		t.Errorf("address without port became %q", a)
	}
	if cfg.ByAddress("198.51.100.7") == nil {
		t.Error("ByAddress missed")
	}
	lab := cfg.Auths["lab"]
	for target, want := range map[string]bool{"cm.example.com": true, "cm.example.com:443": true, "modem-7.example.com": true,
		"modem-7.example.com:8443": true, "evil.example.com": false, "cm.example.com:8443": false} {
		if lab.Allows(target) != want {
			t.Errorf("Allows(%q) != %v", target, want)
		}
	}
	if _, err := Parse([]byte("targets:\n  \"192.0.2.1\": {}\n  \"https://192.0.2.1:443\": {}\n")); err == nil || !strings.Contains(err.Error(), "same modem") {
		t.Fatalf("duplicate spellings accepted: %v", err)
	}
}

// TestCacheMaxEntries: cache.max_entries is read and must not be negative.
func TestCacheMaxEntries(t *testing.T) {
	cfg, err := Parse([]byte("auths:\n  lab:\n    file: {path: /x}\n    cache: {max_entries: 10}\n"))
	if err != nil || cfg.Auths["lab"].Cache.MaxEntries != 10 {
		t.Fatalf("max_entries 10: %v %+v", err, cfg)
	}
	if _, err := Parse([]byte("auths:\n  lab:\n    file: {path: /x}\n    cache: {max_entries: -1}\n")); err == nil || !strings.Contains(err.Error(), "max_entries") {
		t.Fatalf("max_entries -1: %v", err)
	}
}

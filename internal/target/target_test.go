package target

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in       string
		hostPort string
		wantErr  bool
	}{
		{"192.0.2.1", "192.0.2.1:443", false},
		{"192.0.2.1:8443", "192.0.2.1:8443", false},
		{"https://cm.example.com:4443", "cm.example.com:4443", false},
		{"https://cm.example.com/", "cm.example.com:443", false},
		{"[::1]:9443", "[::1]:9443", false},
		{"::1", "[::1]:443", false},
		{"http://192.0.2.1", "192.0.2.1:80", false},
		{"HTTP://192.0.2.1:8080/", "192.0.2.1:8080", false},
		{"ftp://192.0.2.1", "", true},
		{"192.0.2.1/evil", "", true},
		{"user@host", "", true},
		{"host:0", "", true},
		{"host:", "", true},
		{"192.0.2.1:+443", "", true},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1:443", false},
		{"[::ffff:c000:201]", "192.0.2.1:443", false},
		{"[2001:0db8::1]", "[2001:db8::1]:443", false},
		{"CM.Example.COM.", "cm.example.com:443", false},
		{"192.000.002.001", "", true},
		{"0xC0.0.2.1", "", true},
		{"3221225985", "", true},
		{"192.0.513", "", true},
		{"[fe80::1%eth0]", "", true},
		{"host:99999", "", true},
		{"host:abc", "", true},
		{"", "", true},
		{"ho st", "", true},
		{"<script>", "", true},
		{strings.Repeat("a", 400), "", true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) err = %v", tt.in, err)
			continue
		}
		if err == nil && got.HostPort() != tt.hostPort {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got.HostPort(), tt.hostPort)
		}
	}
}

func TestWithPort(t *testing.T) {
	tests := map[string]string{
		"192.0.2.1":         "192.0.2.1:8443",
		"192.0.2.1:443":     "192.0.2.1:443",
		"https://host/":     "host:8443",
		"https://host:9/":   "https://host:9/",
		"::1":               "[::1]:8443",
		"[::1]":             "[::1]:8443",
		"[::1]:9":           "[::1]:9",
		"https://[2001::1]": "[2001::1]:8443",
		"host:":             "host:",
		"http://host":       "http://host:8443",
		"http://host:81":    "http://host:81",
		"a/b":               "a/b",
	}
	for in, want := range tests {
		if got := WithPort(in, 8443); got != want {
			t.Errorf("WithPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCanonical: every spelling the parser accepts maps to one canonical
// form, the same whichever entry point is used, that parses back to
// itself; a refused spelling's form is never a valid target's.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "host:443", "https://cm.example.com:8443/", "HTTPS://CM.example.com.", "[::1]:1", "::1",
		"[::ffff:192.0.2.1]", "[2001:0db8:0::1]:0443", "http://x", "a/b", "%00", " 192.0.2.1", "192.000.002.001", "host:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := Parse(s)
		canonical := Canonical(s)
		if err != nil {
			if _, err := Parse(canonical); err == nil {
				t.Fatalf("refused %q has the canonical form %q of a valid target", s, canonical)
			}
			return
		}
		if pt.Host == "" || pt.Port < 1 || pt.Port > 65535 || strings.ContainsAny(pt.Host, "/?#@ ") {
			t.Fatalf("%q parsed to %+v", s, pt)
		}
		if canonical != pt.HostPort() {
			t.Fatalf("Canonical(%q) = %q, Parse gives %q", s, canonical, pt.HostPort())
		}
		again, err := Parse(canonical)
		if err != nil || again.HostPort() != canonical || Canonical(canonical) != canonical {
			t.Fatalf("canonical form %q of %q does not parse back to itself: %+v, %v", canonical, s, again, err)
		}
		if withPort := WithPort(s, 8443); Canonical(withPort) == "" || (hasPort(s) && withPort != s) {
			t.Fatalf("WithPort(%q) = %q", s, withPort)
		}
	})
}

package secrets

import "testing"

func TestCanonicalTarget(t *testing.T) {
	tests := map[string]string{
		"192.0.2.1":                  "192.0.2.1:443",
		"192.0.2.1:443":              "192.0.2.1:443",
		"https://192.0.2.1":          "192.0.2.1:443",
		"HTTPS://192.0.2.1:443/":     "192.0.2.1:443",
		"http://192.0.2.1":           "192.0.2.1:80",
		"HTTP://192.0.2.1:8080/":     "192.0.2.1:8080",
		"CM.Example.COM.":            "cm.example.com:443",
		"cm.example.com:8443":        "cm.example.com:8443",
		"cm.example.com:08443":       "cm.example.com:8443",
		"[::1]:9443":                 "[::1]:9443",
		"[::1]":                      "[::1]:443",
		"https://[2001:DB8::1]:443/": "[2001:db8::1]:443",
		"[::ffff:192.0.2.1]":         "192.0.2.1:443",
		"[2001:0db8:0::1]:443":       "[2001:db8::1]:443",
	}
	for in, want := range tests {
		if got := CanonicalTarget(in); got != want {
			t.Errorf("CanonicalTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

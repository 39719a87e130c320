package secrets

import (
	"net"
	"net/netip"
	"strings"
)

// CanonicalTarget returns the canonical "host:port" form of a probe target
// (host, host:port, [v6]:port, https://host:port or http://host:port): the
// scheme and a trailing slash dropped, the host lower-cased without a
// trailing dot, and port 443 when none is given (80 for http://). Different spellings of one modem have one
// canonical form, so lookups by target (pins, per-target credentials,
// allow-lists) cannot be side-stepped by respelling it. Input that does not
// parse is returned lower-cased.
func CanonicalTarget(target string) string {
	s := strings.TrimSpace(target)
	port := "443"
	if i := strings.Index(s, "://"); i >= 0 && strings.EqualFold(s[:i], "https") {
		s = s[i+3:]
	} else if i >= 0 && strings.EqualFold(s[:i], "http") {
		s, port = s[i+3:], "80"
	}
	s = strings.TrimSuffix(s, "/")
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if addr, err := netip.ParseAddr(host); err == nil {
		host = addr.Unmap().String() // ::ffff:192.0.2.1 is 192.0.2.1; IPv6 compressed
	}
	if host == "" {
		return strings.ToLower(s)
	}
	return net.JoinHostPort(host, strings.TrimLeft(port, "0"))
}

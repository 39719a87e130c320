// Package target owns the syntax of a probe target (host, host:port,
// [v6]:port, https://host[:port] or http://host[:port]) and its canonical
// form "host:port".
// Pins, per-target credentials, allow-lists and per-modem state are all
// looked up by the canonical form, so every package that names a modem
// parses it here: two parsers that disagree on a spelling would let it
// side-step a pin.
package target

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Target is a parsed target.
type Target struct {
	// Raw is the value as given; it keys targets: and the credential cache.
	Raw string
	// Host is the host name or IP address.
	Host string
	// Port is the TCP port (443 by default, 80 for http://).
	Port int
	// Scheme is "https", or "http" for a target given as http:// (allowed
	// only where its targets: entry sets insecure_http).
	Scheme string
}

// HostPort returns the canonical form: host:port, bracketing IPv6
// addresses.
func (t Target) HostPort() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// URL returns the modem's base URL.
func (t Target) URL() *url.URL { return &url.URL{Scheme: t.Scheme, Host: t.HostPort()} }

// Insecure reports whether the target is reached without TLS.
func (t Target) Insecure() bool { return t.Scheme == "http" }

// hostName matches a DNS name (letters, digits, hyphens, dots, underscores).
var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$`)

// Parse reads a target: host, host:port, [v6]:port or
// https://host[:port], or http://host[:port] (port 80 by default), which
// the caller allows only for targets configured with insecure_http. The
// port defaults to 443.
func Parse(s string) (Target, error) {
	t := Target{Raw: s, Port: 443, Scheme: "https"}
	if s == "" {
		return t, errors.New("target is empty")
	}
	if len(s) > 300 {
		return t, errors.New("target is longer than 300 characters")
	}
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme := strings.ToLower(rest[:i])
		switch scheme {
		case "https":
		case "http":
			t.Scheme, t.Port = "http", 80
		default:
			return t, fmt.Errorf("scheme %q is not supported: the modem is reached over https (or http where insecure_http allows it)", scheme)
		}
		rest = rest[i+3:]
		rest = strings.TrimSuffix(rest, "/")
	}
	if strings.ContainsAny(rest, "/?#@ \t\r\n\\") {
		return t, errors.New("target must be host, host:port or https://host:port (http:// with insecure_http), without path, query or user")
	}
	host, port, err := SplitHostPort(rest)
	if err != nil {
		return t, err
	}
	t.Host = host
	if port != 0 {
		t.Port = port
	}
	return t, nil
}

// SplitHostPort splits host[:port]; port 0 means absent. IP addresses come
// back in canonical form (IPv4-mapped IPv6 unmapped, IPv6 compressed), so
// that every spelling of one address is one modem; zones, signed or
// non-decimal ports, and host names that look numeric (192.000.002.001,
// 0xC0.0.2.1, 3221225985: some resolvers dial them as addresses) are
// refused.
func SplitHostPort(s string) (string, int, error) {
	host, portText := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("unclosed [ in %q", s)
		}
		host = s[1:end]
		after := s[end+1:]
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return "", 0, fmt.Errorf("junk after ] in %q", s)
			}
			portText = after[1:]
		}
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("%q is not an IPv6 address", host)
		}
	} else if strings.Count(s, ":") == 1 {
		host, portText, _ = strings.Cut(s, ":")
	} else if strings.Count(s, ":") > 1 {
		host = s
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return "", 0, fmt.Errorf("%q: IPv6 zones are not supported", host)
		}
		host = addr.Unmap().String()
	} else if strings.Contains(host, ":") {
		return "", 0, fmt.Errorf("%q is not a host or IPv6 address", host)
	} else if !hostName.MatchString(host) {
		return "", 0, fmt.Errorf("%q is not a valid host name or IP address", host)
	} else if numericLooking(host) {
		return "", 0, fmt.Errorf("%q looks like an address but is not a plain dotted-quad IPv4 address", host)
	} else {
		host = strings.TrimSuffix(strings.ToLower(host), ".")
	}
	port := 0
	if portText == "" && strings.HasSuffix(s, ":") {
		return "", 0, fmt.Errorf("empty port in %q", s)
	}
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 || strings.Trim(portText, "0123456789") != "" {
			return "", 0, fmt.Errorf("port %q must be a number from 1 to 65535", portText)
		}
		port = p
	}
	return host, port, nil
}

// numericLooking reports whether a host name's last label is all digits or
// hexadecimal with 0x: such names are addresses to inet_aton-style
// resolvers, never real DNS names.
func numericLooking(host string) bool {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	if strings.HasPrefix(last, "0x") {
		return true
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// invalidPrefix marks the canonical form of a target that does not parse:
// it contains a space, which no parsed target has, so it matches nothing
// but the same invalid spelling.
const invalidPrefix = "invalid target "

// Canonical returns the canonical "host:port" form of a target, as
// Parse(s).HostPort() does. A target that does not parse has a form of its
// own that no valid target shares.
func Canonical(s string) string {
	t, err := Parse(s)
	if err != nil {
		return invalidPrefix + strings.ToLower(s)
	}
	return t.HostPort()
}

// WithPort adds a port to a target that has none (the original exporter's
// _port parameter), keeping an http:// scheme; a target with a port, or
// one that does not parse, is returned unchanged.
func WithPort(s string, port int) string {
	t, err := Parse(s)
	if err != nil || hasPort(s) {
		return s
	}
	t.Port = port
	if t.Insecure() {
		return "http://" + t.HostPort()
	}
	return t.HostPort()
}

// hasPort reports whether a target that parses names its port.
func hasPort(s string) bool {
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = strings.TrimSuffix(rest[i+3:], "/")
	}
	if strings.HasPrefix(rest, "[") {
		return strings.Contains(rest, "]:")
	}
	return strings.Count(rest, ":") == 1
}

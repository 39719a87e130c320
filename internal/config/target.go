package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ProbeTarget is a parsed target= value.
type ProbeTarget struct {
	// Raw is the value as given; it keys targets: and the credential cache.
	Raw string
	// Host is the host name or IP address.
	Host string
	// Port is the TCP port (443 by default).
	Port int
}

// HostPort returns host:port, bracketing IPv6 addresses.
func (t ProbeTarget) HostPort() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// URL returns the modem's base URL.
func (t ProbeTarget) URL() *url.URL { return &url.URL{Scheme: "https", Host: t.HostPort()} }

// hostName matches a DNS name (letters, digits, hyphens, dots, underscores).
var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$`)

// ParseTarget reads a target: host, host:port, [v6]:port or
// https://host[:port]. The port defaults to 443. Plain http is refused:
// credentials only travel over pinned TLS.
func ParseTarget(s string) (ProbeTarget, error) {
	t := ProbeTarget{Raw: s, Port: 443}
	if s == "" {
		return t, errors.New("target is empty")
	}
	if len(s) > 300 {
		return t, errors.New("target is longer than 300 characters")
	}
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme := strings.ToLower(rest[:i])
		if scheme != "https" {
			return t, fmt.Errorf("scheme %q is not supported: the modem is only reached over https", scheme)
		}
		rest = rest[i+3:]
		rest = strings.TrimSuffix(rest, "/")
	}
	if strings.ContainsAny(rest, "/?#@ \t\r\n\\") {
		return t, errors.New("target must be host, host:port or https://host:port, without path, query or user")
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return t, err
	}
	t.Host = host
	if port != 0 {
		t.Port = port
	}
	return t, nil
}

// splitHostPort splits host[:port]; port 0 means absent.
func splitHostPort(s string) (string, int, error) {
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
		if net.ParseIP(host) == nil {
			return "", 0, fmt.Errorf("%q is not an IPv6 address", host)
		}
	} else if strings.Count(s, ":") == 1 {
		host, portText, _ = strings.Cut(s, ":")
	} else if strings.Count(s, ":") > 1 {
		if net.ParseIP(s) == nil {
			return "", 0, fmt.Errorf("%q is not a host or IPv6 address", s)
		}
		return s, 0, nil
	}
	if net.ParseIP(host) == nil && !hostName.MatchString(host) {
		return "", 0, fmt.Errorf("%q is not a valid host name or IP address", host)
	}
	port := 0
	if portText == "" && strings.HasSuffix(s, ":") {
		return "", 0, fmt.Errorf("empty port in %q", s)
	}
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("port %q must be a number from 1 to 65535", portText)
		}
		port = p
	}
	return host, port, nil
}

// Package pin checks a TLS server's leaf certificate against a pinned
// SHA-256 fingerprint, the way the modem's self-signed certificate is
// trusted, and builds the TLS configuration used for modem connections.
package pin

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Fingerprint is the SHA-256 digest of a certificate's DER encoding.
type Fingerprint [sha256.Size]byte

// ErrMismatch is returned (wrapped) when the server's certificate does not
// match the pin. The handshake fails, so nothing is ever sent over it.
var ErrMismatch = errors.New("certificate fingerprint does not match the pinned fingerprint")

// fingerprintSeparators drops what people write between a fingerprint's
// hex digits (built once: a Replacer builds its tables on first use).
var fingerprintSeparators = strings.NewReplacer(":", "", " ", "", "-", "")

// Parse reads a SHA-256 fingerprint written as 64 hex digits, with or without
// colons (or spaces), in any case: the form `openssl x509 -fingerprint
// -sha256` prints and the form the original exporter accepted.
func Parse(s string) (Fingerprint, error) {
	var fp Fingerprint
	if i := strings.LastIndexByte(s, '='); i >= 0 { // "sha256 Fingerprint=AB:CD:…" as openssl prints it
		s = s[i+1:]
	}
	clean := fingerprintSeparators.Replace(strings.TrimSpace(s))
	switch len(clean) {
	case 64:
	case 32, 40:
		return fp, fmt.Errorf("fingerprint has %d hex digits: MD5 and SHA-1 pins are not supported, give the SHA-256 fingerprint (64 hex digits)", len(clean))
	default:
		return fp, fmt.Errorf("fingerprint must be 64 hex digits (SHA-256), got %d characters", len(clean))
	}
	if _, err := hex.Decode(fp[:], []byte(clean)); err != nil {
		return fp, fmt.Errorf("fingerprint is not hexadecimal: %w", err)
	}
	if fp == (Fingerprint{}) {
		// No certificate hashes to all zeros: such a value is a placeholder
		// or an attempt to pass for "no pin", and is refused outright.
		return fp, errors.New("fingerprint is all zeros: that is no certificate's SHA-256 fingerprint")
	}
	return fp, nil
}

// Of returns the fingerprint of a DER-encoded certificate.
func Of(der []byte) Fingerprint { return sha256.Sum256(der) }

// String returns the fingerprint as upper-case colon-separated hex, the form
// openssl prints and the documentation uses.
func (f Fingerprint) String() string {
	var b strings.Builder
	b.Grow(len(f)*3 - 1)
	const digits = "0123456789ABCDEF"
	for i, c := range f {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0x0f])
	}
	return b.String()
}

// Hex returns the fingerprint as 64 lower-case hex digits.
func (f Fingerprint) Hex() string { return hex.EncodeToString(f[:]) }

// Equal compares two fingerprints in constant time.
func (f Fingerprint) Equal(o Fingerprint) bool {
	return subtle.ConstantTimeCompare(f[:], o[:]) == 1
}

// Pin is what a connection's certificate must match. "No pin" has its own
// representation (the zero Pin, or None()), separate from every
// Fingerprint value: a Pin made by Require matches exactly the certificate
// with that fingerprint, whatever its value, all zeros included.
type Pin struct {
	fp  Fingerprint
	set bool
}

// None is the absent pin: the connection is not authenticated.
func None() Pin { return Pin{} }

// Require returns a pin that only the certificate with fingerprint fp matches.
func Require(fp Fingerprint) Pin { return Pin{fp: fp, set: true} }

// IsSet reports whether the pin requires a certificate.
func (p Pin) IsSet() bool { return p.set }

// Fingerprint returns the required fingerprint; ok is false for None.
func (p Pin) Fingerprint() (fp Fingerprint, ok bool) { return p.fp, p.set }

// Matches reports whether a certificate with fingerprint fp satisfies a set
// pin (constant time). An absent pin matches nothing: callers check IsSet
// to decide whether an unauthenticated connection is acceptable.
func (p Pin) Matches(fp Fingerprint) bool { return p.set && p.fp.Equal(fp) }

// Equal reports whether two pins require the same thing.
func (p Pin) Equal(o Pin) bool { return p.set == o.set && p.fp.Equal(o.fp) }

// String returns the fingerprint as String does, or "none".
func (p Pin) String() string {
	if !p.set {
		return "none"
	}
	return p.fp.String()
}

// Key returns a string that tells pins apart, for map keys and hashes.
func (p Pin) Key() string {
	if !p.set {
		return "none"
	}
	return p.fp.Hex()
}

// Observation records what the peer presented during a handshake.
type Observation struct {
	// Fingerprint of the leaf certificate.
	Fingerprint Fingerprint
	// Subject of the leaf certificate (for the info metric).
	Subject string
	// Matched is true when a pin was set and matched.
	Matched bool
	// Version is the negotiated TLS version.
	Version uint16
}

// Options are the TLS settings for one modem connection.
type Options struct {
	// Pin, when set, must match the leaf certificate's fingerprint; None
	// accepts any certificate (an unauthenticated connection).
	Pin Pin
	// MinVersion is the lowest TLS version offered; zero means TLS 1.2.
	MinVersion uint16
	// MaxVersion is the highest TLS version offered; zero means Go's
	// highest (TLS 1.3). Offering at most TLS 1.2 to a modem known to
	// speak no more spares the TLS 1.3 key share of every ClientHello.
	MaxVersion uint16
	// ExtraCipherSuites are added to Go's defaults (for very old firmware).
	ExtraCipherSuites []uint16
	// ServerName is sent as SNI when it is a host name.
	ServerName string
	// Observe, when set, is called with what the peer presented, before the
	// pin is checked, so a mismatch can still be reported.
	Observe func(Observation)
	// SessionCache, when set, lets later connections to the same modem
	// resume the TLS session instead of a full handshake. The pin is
	// checked on resumed connections too.
	SessionCache tls.ClientSessionCache
}

// LegacyRSAKeyExchangeSuites are the RSA key exchange cipher suites that Go
// removed from its default client list in Go 1.22. Hitron CGN firmware runs an
// old embedded TLS stack with a 1024-bit RSA certificate, and some units are
// reported to offer only these suites. They are enabled for modem connections
// only (never for Vault, FreeIPA or the exporter's own listener); the pin, not
// the cipher suite, is what authenticates the modem.
var LegacyRSAKeyExchangeSuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// ClientConfig returns a TLS client configuration for a modem. The modem's
// certificate is self-signed with the MAC address as its name, so chain and
// name verification cannot work; instead VerifyConnection compares the leaf
// certificate's SHA-256 fingerprint with the pin and aborts the handshake on
// a mismatch, before any application data (and so any credential) is sent.
// Without a pin the connection is unauthenticated and the caller must not
// send credentials that require one.
func ClientConfig(o Options) *tls.Config {
	suites := defaultSuites()
	if len(o.ExtraCipherSuites) > 0 {
		suites = slices.Concat(suites, o.ExtraCipherSuites)
	}
	minVersion := o.MinVersion
	if minVersion == 0 {
		minVersion = tls.VersionTLS12
	}
	pinned := o.Pin
	observe := o.Observe
	return &tls.Config{
		MinVersion:   minVersion,
		MaxVersion:   o.MaxVersion,
		CipherSuites: suites,
		ServerName:   o.ServerName,
		// Classic curves only: the post-quantum hybrid key share costs a
		// key generation per connection and old modem stacks ignore it.
		CurvePreferences:   []tls.CurveID{tls.X25519, tls.CurveP256},
		ClientSessionCache: o.SessionCache,
		// Chain and host name verification are replaced by the pin check in
		// VerifyConnection: the modem's certificate is self-signed.
		InsecureSkipVerify: true, //nolint:gosec // pinned in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("modem presented no certificate")
			}
			leaf := cs.PeerCertificates[0]
			obs := Observation{Fingerprint: Of(leaf.Raw), Subject: leaf.Subject.String(), Version: cs.Version}
			obs.Matched = pinned.Matches(obs.Fingerprint)
			if observe != nil {
				observe(obs)
			}
			if pinned.IsSet() && !obs.Matched {
				return fmt.Errorf("%w: modem presented %s", ErrMismatch, obs.Fingerprint)
			}
			return nil
		},
	}
}

// defaultSuites lists Go's secure suites and LegacyRSAKeyExchangeSuites,
// built once: tls.CipherSuites allocates its list on every call, and a
// tls.Config only reads the slice.
var defaultSuites = sync.OnceValue(func() []uint16 {
	suites := make([]uint16, 0, 16)
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	return slices.Clip(append(suites, LegacyRSAKeyExchangeSuites...))
})

// CipherSuiteByName returns the ID of a cipher suite by its Go/IANA name,
// including insecure ones (for per-target configuration of old firmware).
func CipherSuiteByName(name string) (uint16, error) {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if strings.EqualFold(s.Name, name) {
				return s.ID, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown TLS cipher suite %q", name)
}

// VersionByName maps "1.0", "1.1", "1.2", "1.3" (optionally with a "TLS"
// prefix) to a TLS version.
func VersionByName(name string) (uint16, error) {
	n := strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "TLS"))
	switch strings.TrimPrefix(n, "V") {
	case "1.0", "10":
		return tls.VersionTLS10, nil
	case "1.1", "11":
		return tls.VersionTLS11, nil
	case "1.2", "12":
		return tls.VersionTLS12, nil
	case "1.3", "13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", name)
}

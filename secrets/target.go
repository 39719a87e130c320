package secrets

import "github.com/hitron-exporter/hitron-exporter/internal/target"

// CanonicalTarget returns the canonical "host:port" form of a probe target
// (host, host:port, [v6]:port, https://host:port or http://host:port): the
// scheme and a trailing slash dropped, the host lower-cased without a
// trailing dot, IP addresses in canonical form, and port 443 when none is
// given (80 for http://). Different spellings of one modem have one
// canonical form, so lookups by target (pins, per-target credentials,
// allow-lists) cannot be side-stepped by respelling it. It is the
// exporter's own target parser's form; a target that parser refuses has a
// form no valid target shares.
func CanonicalTarget(t string) string { return target.Canonical(t) }

// Package secrets is hitron-exporter's public plug-in contract for
// credential providers, and nothing else.
//
// A Provider maps a probe's target (and the probe parameters its Kind
// declares) to a location and reads the modem's username and password
// there as Credentials, whose every printed form is Redacted. It may also
// be a Starter (log in to its backend once the configuration is loaded), a
// Closer (stop background work when a reload replaces it) and a Collector
// (metrics of its own). It fails with an *Error whose Reason becomes a
// metric label. A Kind says how to build a provider from its auths:
// block; a Registry maps the names used in the configuration to kinds.
//
// The exporter puts a cache in front of every provider (keyed by location,
// one backend call per location at a time, stale values while the backend
// is down, an entry dropped when the modem rejects it); providers need not
// cache. To build an exporter with a provider of your own, register its
// Kind next to the built-in ones (package secrets/builtin) and hand the
// registry to package exporter's Run.
//
// The package knows nothing of modems or Prometheus scrapes.
package secrets

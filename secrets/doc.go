// Package secrets is hitron-exporter's pluggable credentials layer.
//
// A Provider maps a probe's target (and the probe parameters it cares about)
// to the modem's username and password. Providers are built by name from the
// `auths:` section of the configuration through a Registry, and every
// provider is reached through a Cache, which keys entries by provider and
// resolved location, coalesces concurrent look-ups, serves stale values while
// a backend is down and drops an entry when the modem rejects it.
//
// The package knows nothing of modems or Prometheus scrapes: it is the one
// public package of the module so that others can add providers.
package secrets

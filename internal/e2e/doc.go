// Package e2e holds black-box tests: they build the real hitron-exporter
// binary, start it next to the modem simulator (and, where a test needs
// them, a real Vault server, KDC or Prometheus), and talk to it over HTTP
// the way Prometheus and operators do. Everything listens on 127.0.0.1.
package e2e

// Command hitron-exporter is a Prometheus exporter for Hitron CGN-series
// cable modems, using the multi-target pattern: Prometheus scrapes
// /probe?target=<modem>, and the exporter logs in to that modem over pinned
// TLS with credentials from a file, HashiCorp Vault or a FreeIPA vault.
//
// It is package exporter run with the built-in credential providers; a
// binary with providers of its own is built the same way (see
// examples/envprovider).
package main

import (
	"os"

	"github.com/hitron-exporter/hitron-exporter/exporter"
	"github.com/hitron-exporter/hitron-exporter/secrets/builtin"
)

func main() {
	os.Exit(exporter.Run(os.Args[1:], builtin.Registry()))
}

// Command hitron-exporter-env is hitron-exporter with one more credentials
// provider, env (package envprovider), next to the built-in file, vault
// and freeipa: built from this module, without a fork of the exporter.
package main

import (
	"os"

	"github.com/hitron-exporter/hitron-exporter/exporter"
	"github.com/hitron-exporter/hitron-exporter/secrets/builtin"

	"example.com/hitron-envprovider"
)

func main() {
	reg := builtin.Registry()
	reg.Register(envprovider.KindName, envprovider.Kind())
	os.Exit(exporter.Run(os.Args[1:], reg))
}

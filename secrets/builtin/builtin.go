// Package builtin registers the credential providers that ship with
// hitron-exporter: file, vault and freeipa.
package builtin

import (
	"github.com/hitron-exporter/hitron-exporter/secrets"
	"github.com/hitron-exporter/hitron-exporter/secrets/file"
	"github.com/hitron-exporter/hitron-exporter/secrets/freeipa"
	"github.com/hitron-exporter/hitron-exporter/secrets/vault"
)

// Registry returns a registry with every built-in provider kind.
func Registry() *secrets.Registry {
	r := secrets.NewRegistry()
	r.Register("file", file.Kind())
	r.Register("vault", vault.Kind())
	r.Register("freeipa", freeipa.Kind())
	return r
}

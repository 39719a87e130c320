package probe

import (
	"context"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// localProvider is a provider with fixed credentials, for plan tests.
type localProvider struct{}

func (localProvider) Kind() string                             { return "local" }
func (localProvider) Locate(r secrets.Request) (string, error) { return r.Target, nil }
func (localProvider) Fetch(context.Context, string) (secrets.Result, error) {
	return secrets.Result{Credentials: secrets.NewCredentials("admin", "x")}, nil
}

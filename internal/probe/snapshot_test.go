package probe

import (
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestBuildNamesTheRegisteredKinds: a profile without a provider, or with
// one nobody registered, is refused with the kinds this binary has.
func TestBuildNamesTheRegisteredKinds(t *testing.T) {
	reg := secrets.NewRegistry()
	for _, name := range []string{"vault", "env", "file"} {
		reg.Register(name, secrets.Kind{New: func(secrets.Options) (secrets.Provider, error) { return localProvider{}, nil }})
	}
	tests := []struct{ name, yaml, want string }{
		{"no provider", "auths:\n  lab:\n    timeout: 1s\n", `line 3: auths.lab: no provider: add one of env, file or vault`},
		{"unknown provider", "auths:\n  lab:\n    freeipa: {}\n", `line 3: auths.lab: unknown provider "freeipa": use one of env, file or vault`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(cfg, reg, nil, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

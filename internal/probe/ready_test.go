package probe

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// lateStarter fails to start (its broker was down) but serves credentials
// later, as the Vault and FreeIPA providers do after logging in on demand.
type lateStarter struct{ localProvider }

func (lateStarter) Start(context.Context) error { return errors.New("broker down at start-up") }

func TestReadinessRecoversWhenAProviderServes(t *testing.T) {
	cfg, err := config.Parse([]byte("auths:\n  corp: {late: {}}\n  lab: {local: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	reg := secrets.NewRegistry()
	reg.Register("local", secrets.Kind{Local: true, New: func(secrets.Options) (secrets.Provider, error) { return localProvider{}, nil }})
	reg.Register("late", secrets.Kind{New: func(secrets.Options) (secrets.Provider, error) { return lateStarter{}, nil }})
	s, err := Build(cfg, reg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("start error not reported")
	}
	if s.Ready() {
		t.Fatal("ready with a provider that failed to start and never served")
	}
	if _, err := s.Profiles["corp"].Cache.Get(context.Background(), secrets.Request{Target: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if !s.Ready() {
		t.Fatal("not ready after the provider served credentials")
	}
}

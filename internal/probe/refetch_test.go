package probe

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// slowSecondFetch serves a password the modem refuses, and is slow from the
// second call on (a busy Vault, a Kerberos renewal).
type slowSecondFetch struct{ calls atomic.Int32 }

func (*slowSecondFetch) Kind() string                             { return "slow" }
func (*slowSecondFetch) Locate(r secrets.Request) (string, error) { return r.Target, nil }
func (p *slowSecondFetch) Fetch(ctx context.Context, _ string) (secrets.Result, error) {
	if p.calls.Add(1) > 1 {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return secrets.Result{Credentials: secrets.NewCredentials("admin", "stale-password")}, nil
}

// TestSlowRefetchDoesNotResendARefusedPassword: when the re-fetch after a
// refusal outlives the probe, the refused password is still never sent
// again, and the probe reports bad_credentials, not a backend problem.
func TestSlowRefetchDoesNotResendARefusedPassword(t *testing.T) {
	sim := testkit.StartSim(t, modemsim.Config{Password: "real", LockAfter: 50})
	cfg, err := config.Parse([]byte("targets:\n  \"" + sim.Addr() + "\":\n    fingerprint: \"" + sim.Fingerprint().String() + "\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	prov := &slowSecondFetch{}
	snap := &Snapshot{Config: cfg, Profiles: map[string]*Profile{"default": {
		Name: "default", Auth: &config.Auth{Provider: "slow"},
		Cache: credcache.NewCache("default", prov, credcache.CacheOptions{TTL: 5 * time.Minute, StaleIfError: time.Hour}),
	}}}
	p := New(Options{})
	for i := 0; i < 4; i++ {
		plan, err := NewPlan(snap, Request{Target: sim.Addr(), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res := p.Probe(context.Background(), plan)
		want := ReasonBackoff
		if i == 0 {
			want = ReasonBadCredentials
		}
		if res.Reason != want {
			t.Errorf("probe %d: reason %q, want %q", i, res.Reason, want)
		}
	}
	if n := len(sim.Stats().LoginAttempts); n != 1 {
		t.Fatalf("the refused password reached the modem %d times, want 1", n)
	}
}

package probe

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/config"
	"github.com/hitron-exporter/hitron-exporter/internal/credcache"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
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
	sim, err := modemsim.New(modemsim.Config{Password: "real", LockAfter: 50})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.Close() }()
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

// TestDeviceStateIsCapped: five times MaxModems distinct unreachable
// targets leave at most MaxModems entries.
func TestDeviceStateIsCapped(t *testing.T) {
	const maxDevices = 512
	s := snapshot(t, "auths:\n  default: {local: {}}\n")
	p := New(Options{MaxModems: maxDevices})
	for i := 0; i < 5*maxDevices; i++ {
		plan, err := NewPlan(s, Request{Target: fmt.Sprintf("127.%d.%d.%d:1", (i>>14)&255, (i>>6)&255, (i&63)+1), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		p.Probe(context.Background(), plan)
	}
	if n := p.Devices(); n > maxDevices {
		t.Fatalf("%d device entries after probes of %d distinct targets", n, 5*maxDevices)
	}
}

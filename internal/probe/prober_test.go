package probe

import (
	"fmt"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestDeviceStateIsBounded: idle per-modem state is swept, but a modem
// whose refusal still holds is kept.
func TestDeviceStateIsBounded(t *testing.T) {
	clock := time.Unix(1e9, 0)
	p := New(Options{Now: func() time.Time { return clock }})
	for i := 0; i < 2000; i++ {
		p.device(fmt.Sprintf("old%d.example:443", i))
	}
	clock = clock.Add(3 * time.Hour)
	p.device("rejecting.example:443").refuse(secrets.NewCredentials("a", "b"), clock)
	for i := 0; i < deviceSweepEvery; i++ {
		p.device(fmt.Sprintf("new%d.example:443", i))
	}
	if n := p.Devices(); n > deviceSweepEvery+1 {
		t.Fatalf("%d devices kept; the 2000 idle ones were not swept", n)
	}
	p.mu.Lock()
	_, kept := p.devices["rejecting.example:443"]
	p.mu.Unlock()
	if !kept {
		t.Fatal("a modem whose refusal holds was forgotten")
	}
}

// TestRefusalsExpire: a refused password may be tried again after an hour
// (a modem set back to it recovers), and a reload forgets refusals.
func TestRefusalsExpire(t *testing.T) {
	clock := time.Unix(1e9, 0)
	p := New(Options{Now: func() time.Time { return clock }})
	d := p.device("m.example:443")
	c := secrets.NewCredentials("admin", "pw")
	d.refuse(c, clock)
	if !d.isRefused(c, clock.Add(59*time.Minute)) || d.isRefused(c, clock.Add(61*time.Minute)) {
		t.Fatal("refusal does not expire after an hour")
	}
	d.refuse(c, clock)
	p.ForgetRefusals()
	if d.isRefused(c, clock) {
		t.Fatal("a reload did not forget the refusal")
	}
}

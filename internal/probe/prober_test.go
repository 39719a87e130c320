package probe

import (
	"fmt"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// TestDeviceStateIsBounded: probes of ever-new targets do not grow the
// prober's per-modem state forever, but a modem in back-off is kept.
func TestDeviceStateIsBounded(t *testing.T) {
	clock := time.Unix(1e9, 0)
	p := New(Options{Now: func() time.Time { return clock }})
	bad := p.device("rejecting.example:443")
	bad.refuse(secrets.NewCredentials("a", "b"), clock)
	for i := 0; i < 3*deviceSweepEvery; i++ {
		p.device(fmt.Sprintf("t%d.example:443", i))
		clock = clock.Add(10 * time.Second)
	}
	if n := p.Devices(); n >= 3*deviceSweepEvery {
		t.Fatalf("%d devices kept after %d distinct targets", n, 3*deviceSweepEvery)
	}
	p.mu.Lock()
	_, kept := p.devices["rejecting.example:443"]
	p.mu.Unlock()
	if !kept {
		t.Fatal("a modem in back-off was forgotten")
	}
}

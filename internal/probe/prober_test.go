package probe

import (
	"context"
	"crypto/tls"
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
// (a modem set back to it recovers). A reload ends the back-off but keeps
// the refusal: it used to forget it, and a reload-then-probe loop (a
// cross-site page can POST /-/reload) re-sent the refused password at will.
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
	p.ResetBackoffs()
	if !d.isRefused(c, clock) {
		t.Fatal("a reload forgot the refusal")
	}
	if !d.backoffExpired(clock) {
		t.Fatal("a reload did not end the back-off")
	}
}

// TestTLSVersionMemory: a modem whose pinned handshake chose TLS 1.2 is
// offered TLS 1.2 at most for an hour, then TLS 1.3 again, once.
func TestTLSVersionMemory(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	tests := []struct {
		name  string
		notes []uint16 // versions negotiated, one probe a minute from t0
		at    time.Duration
		want  uint16
	}{
		{"nothing known: Go's default", nil, 0, 0},
		{"chose TLS 1.2", []uint16{tls.VersionTLS12}, time.Minute, tls.VersionTLS12},
		{"still within the hour", []uint16{tls.VersionTLS12, tls.VersionTLS12}, 59 * time.Minute, tls.VersionTLS12},
		{"after an hour TLS 1.3 is offered again", []uint16{tls.VersionTLS12, tls.VersionTLS12}, 61 * time.Minute, 0},
		{"a firmware that chose TLS 1.3", []uint16{tls.VersionTLS12, tls.VersionTLS13}, 2 * time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(Options{Now: func() time.Time { return t0 }}).device("m.example:443")
			for i, v := range tt.notes {
				d.noteTLSVersion(v, t0.Add(time.Duration(i)*time.Minute))
			}
			if got := d.maxTLSVersion(t0.Add(tt.at)); got != tt.want {
				t.Errorf("offered at most %#x, want %#x", got, tt.want)
			}
		})
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

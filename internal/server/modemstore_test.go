package server

import (
	"context"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
)

// simData probes a simulator serving cfg's data set once, through the
// exporter's prober, and returns what the probe read.
func simData(tb testing.TB, cfg modemsim.Config) *hitron.Data {
	tb.Helper()
	e := newEnv(tb, cfg, pinnedConfig)
	snap := e.srv.acquireSnapshot()
	defer snap.Release()
	plan, err := probe.NewPlan(snap, probe.Request{Target: e.sim.Addr()})
	if err != nil {
		tb.Fatal(err)
	}
	res := e.srv.prober.Probe(context.Background(), plan)
	if !res.Success || res.Data == nil {
		tb.Fatalf("probe of the simulator: %s %v", res.Reason, res.Err)
	}
	return res.Data
}

// BenchmarkModemStoreRecord is what noting one probe of a known modem for
// its /modem page costs the probe: the CGNV4-FX4 data set (the
// simulator's default), one modem probed again and again.
func BenchmarkModemStoreRecord(b *testing.B) {
	d := simData(b, modemsim.Config{})
	m := newModemStore(maxModemPages, nil)
	res := &probe.Result{Success: true, Started: time.Now(), Data: d}
	b.ReportAllocs()
	for b.Loop() {
		res.Started = res.Started.Add(time.Second)
		m.record("192.0.2.1", res)
	}
}

package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

// benchLatencies are the modem latencies the probe benchmarks run at: the
// best case and two realistic ones (CGN firmware takes tens to hundreds of
// milliseconds per page).
var benchLatencies = []struct {
	name    string
	latency time.Duration
}{
	{"none", 0},
	{"20ms", 20 * time.Millisecond},
	{"100ms", 100 * time.Millisecond},
}

// cpuMeter reports the process's CPU time per operation as cpu-ns/op: with
// a slow modem, ns/op is the modem's latency and CPU is what a probe costs.
// The simulator shares the process, so its (equal) share is in both the
// probe's and the raw exchange's figure.
type cpuMeter struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) reset() { m.start = processCPU() }

func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkProbe measures one whole probe (credentials, TLS handshake,
// login, seven pages, logout, metrics) against an in-process simulator,
// served through the exporter's handler, at each of benchLatencies.
func BenchmarkProbe(b *testing.B) {
	for _, bl := range benchLatencies {
		b.Run(bl.name, func(b *testing.B) {
			e := newEnv(b, modemsim.Config{Latency: bl.latency}, pinnedConfig)
			h := e.srv.Handler()
			req := httptest.NewRequest(http.MethodGet, "/probe?target="+e.sim.Addr(), nil)
			var cpu cpuMeter
			b.ReportAllocs()
			b.ResetTimer()
			cpu.reset()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if !strings.Contains(rec.Body.String(), "\nprobe_success 1\n") {
					b.Fatalf("probe failed:\n%s", rec.Body.String())
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkRawExchange is the baseline: the same HTTP exchanges made
// directly against the simulator by the modem client, without the
// exporter around them, at each of benchLatencies.
func BenchmarkRawExchange(b *testing.B) {
	for _, bl := range benchLatencies {
		b.Run(bl.name, func(b *testing.B) {
			e := newEnv(b, modemsim.Config{Latency: bl.latency}, pinnedConfig)
			ctx := context.Background()
			var cpu cpuMeter
			b.ReportAllocs()
			b.ResetTimer()
			cpu.reset()
			for i := 0; i < b.N; i++ {
				c, err := hitron.New(hitron.Options{BaseURL: &url.URL{Scheme: "https", Host: e.sim.Addr()}, TLS: pin.ClientConfig(pin.Options{Pin: pin.Require(e.sim.Fingerprint())})})
				if err != nil {
					b.Fatal(err)
				}
				s, err := c.Login(ctx, hitron.CGN{}, hitron.Credentials{Username: "admin", Password: password})
				if err != nil {
					b.Fatal(err)
				}
				for _, ds := range hitron.DefaultDatasets {
					_, _ = s.Fetch(ctx, ds)
				}
				if err := s.Logout(ctx, 5*time.Second); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			cpu.report(b)
		})
	}
}

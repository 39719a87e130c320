package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

// BenchmarkProbe measures one whole probe (credentials, TLS handshake,
// login, seven pages, logout, metrics) against an in-process simulator,
// served through the exporter's handler.
func BenchmarkProbe(b *testing.B) {
	e := newEnv(b, modemsim.Config{}, pinnedConfig)
	h := e.srv.Handler()
	req := httptest.NewRequest(http.MethodGet, "/probe?target="+e.sim.Addr(), nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), "\nprobe_success 1\n") {
			b.Fatalf("probe failed:\n%s", rec.Body.String())
		}
	}
}

// BenchmarkRawExchange is the baseline: the same HTTP exchanges made
// directly against the simulator by the modem client, without the
// exporter around them.
func BenchmarkRawExchange(b *testing.B) {
	e := newEnv(b, modemsim.Config{}, pinnedConfig)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
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
}

package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// formatSet is a probe's Set with label values the text format escapes;
// withBPI adds a family whose label name (from the modem) needs escaping.
func formatSet(withBPI bool) *collector.Set {
	s := collector.NewSet()
	s.Add(collector.NewGauge("probe_success", "Whether the probe succeeded."), 1)
	ch := collector.NewGauge("hitron_downstream_power_dbmv", "Power.", "port", "channel")
	s.Add(ch, 3.5, "2", "10")
	s.Add(ch, -1.25, "1", `a "quoted"\value`)
	if withBPI {
		s.Add(collector.NewGauge("hitron_cm_bpi_info", "BPI.", "auth.state"), 1, "authorized")
	}
	return s
}

func TestProbeAnswerFormatIsPromhttps(t *testing.T) {
	queries := []string{"target=modem", "target=modem&name[]=probe_success"}
	// One memory for every case, and each case answered twice: the format
	// remembered for one Accept header must never answer another.
	var formats formatMemory
	for _, withBPI := range []bool{false, true} {
		for accept, header := range testkit.ScrapeAccepts() {
			for _, query := range queries {
				t.Run(accept+"/"+query, func(t *testing.T) {
					req := httptest.NewRequest(http.MethodGet, "/probe?"+query, nil)
					if header != "" {
						req.Header.Set("Accept", header)
					}
					var got *httptest.ResponseRecorder
					for range 2 {
						got = httptest.NewRecorder()
						bw := &bufferedResponse{ResponseWriter: got, body: &bytes.Buffer{}}
						writeMetrics(bw, req, req.URL.Query(), formats.negotiate(req.Header), formatSet(withBPI))
						bw.send()
					}
					want := httptest.NewRecorder()
					promhttp.HandlerFor(formatSet(withBPI), promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(want, req)
					for _, h := range []string{"Content-Type", "Vary"} {
						if g, w := got.Header().Values(h), want.Header().Values(h); !slices.Equal(g, w) {
							t.Errorf("%s: %q, promhttp %q", h, g, w)
						}
					}
					if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
						t.Fatalf("answer %d %q, promhttp %d %q", got.Code, got.Body.Bytes(), want.Code, want.Body.Bytes())
					}
				})
			}
		}
	}
}

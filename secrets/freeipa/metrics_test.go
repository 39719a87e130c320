package freeipa

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// requests returns hitron_exporter_freeipa_requests_total{method}.
func requests(t *testing.T, p *Provider, method string) float64 {
	t.Helper()
	return testutil.ToFloat64(p.m.requests.WithLabelValues(method))
}

package freeipa

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the provider's self-metrics, all labelled with the profile.
type metrics struct {
	tgtExpiry *prometheus.Desc
	expiry    func() time.Time
	requests  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

func newMetrics(profile string, expiry func() time.Time) *metrics {
	cl := prometheus.Labels{"profile": profile}
	return &metrics{
		tgtExpiry: prometheus.NewDesc("hitron_exporter_freeipa_tgt_expiry_timestamp_seconds",
			"When the Kerberos ticket-granting ticket expires (0 before the first login).", nil, cl),
		expiry: expiry,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "hitron_exporter_freeipa_requests_total",
			Help:        "Requests sent to FreeIPA (login_kerberos and JSON-RPC methods) and to the KDC (kdc_as_req, kdc_tgs_req).",
			ConstLabels: cl,
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "hitron_exporter_freeipa_errors_total",
			Help:        "Failed credential retrievals and background Kerberos logins, by reason.",
			ConstLabels: cl,
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "hitron_exporter_freeipa_request_duration_seconds",
			Help:        "Latency of requests to FreeIPA and the KDC.",
			ConstLabels: cl,
			Buckets:     []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
	}
}

// observe counts one request of method that started at start.
func (m *metrics) observe(method string, start time.Time) {
	m.requests.WithLabelValues(method).Inc()
	m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.tgtExpiry
	m.requests.Describe(ch)
	m.errors.Describe(ch)
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	var v float64
	if t := m.expiry(); !t.IsZero() {
		v = float64(t.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(m.tgtExpiry, prometheus.GaugeValue, v)
	m.requests.Collect(ch)
	m.errors.Collect(ch)
	m.duration.Collect(ch)
}

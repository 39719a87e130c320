package vault

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hitron-exporter/hitron-exporter/secrets"
)

var _ secrets.Collector = (*Provider)(nil)

// metrics are the provider's self-metrics, labelled with its profile.
type metrics struct {
	logins     *prometheus.CounterVec
	renewals   prometheus.Counter
	expiryDesc *prometheus.Desc

	mu     sync.Mutex
	expiry time.Time
}

func newMetrics(profile string) *metrics {
	labels := prometheus.Labels{"profile": profile}
	return &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "hitron_exporter_vault_logins_total",
			Help:        "Vault logins by the vault credentials provider, by result.",
			ConstLabels: labels,
		}, []string{"result"}),
		renewals: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "hitron_exporter_vault_token_renewals_total",
			Help:        "Successful Vault token renewals by the vault credentials provider.",
			ConstLabels: labels,
		}),
		expiryDesc: prometheus.NewDesc("hitron_exporter_vault_token_expiry_timestamp_seconds",
			"Unix time at which the provider's current Vault token expires unless renewed.", nil, labels),
	}
}

// setExpiry records the token's expiry ttl from now; ttl <= 0 means the
// token does not expire (no series is exported).
func (m *metrics) setExpiry(ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ttl <= 0 {
		m.expiry = time.Time{}
		return
	}
	m.expiry = time.Now().Add(ttl)
}

// Describe implements prometheus.Collector.
func (p *Provider) Describe(ch chan<- *prometheus.Desc) {
	p.metrics.logins.Describe(ch)
	p.metrics.renewals.Describe(ch)
	ch <- p.metrics.expiryDesc
}

// Collect implements prometheus.Collector.
func (p *Provider) Collect(ch chan<- prometheus.Metric) {
	p.metrics.logins.Collect(ch)
	p.metrics.renewals.Collect(ch)
	p.metrics.mu.Lock()
	exp := p.metrics.expiry
	p.metrics.mu.Unlock()
	if !exp.IsZero() {
		ch <- prometheus.MustNewConstMetric(p.metrics.expiryDesc, prometheus.GaugeValue, float64(exp.UnixNano())/1e9)
	}
}

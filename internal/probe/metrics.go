package probe

import "github.com/prometheus/client_golang/prometheus"

// proberMetrics are the prober's counters on the exporter's /metrics.
type proberMetrics struct {
	probes  *prometheus.CounterVec
	logins  *prometheus.CounterVec
	logouts *prometheus.CounterVec
	backoff *prometheus.GaugeVec
}

func newProberMetrics(reg prometheus.Registerer) *proberMetrics {
	m := &proberMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_probes_total",
			Help: "Probes run, by result and failure reason.",
		}, []string{"result", "reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_logins_total",
			Help: "Modem login attempts by outcome (success, bad_credentials, session_busy, locked_out, error).",
		}, []string{"outcome"}),
		logouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_logouts_total",
			Help: "Modem logouts by result (success, error; unsupported when the firmware answers the logout with 404 or 405); a failed logout may leave the modem's single session taken.",
		}, []string{"result"}),
		backoff: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hitron_exporter_target_backoff_active",
			Help: "1 while a modem refused the credentials and the exporter will not send them again until they change; target is the modem's address (host:port).",
		}, []string{"target"}),
	}
	if reg != nil {
		reg.MustRegister(m.probes, m.logins, m.logouts, m.backoff)
	}
	return m
}

func (m *proberMetrics) setBackoff(target string, on bool) {
	if on {
		m.backoff.WithLabelValues(target).Set(1)
	} else {
		m.backoff.DeleteLabelValues(target)
	}
}

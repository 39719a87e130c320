package server

import (
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// securityHeaders marks every answer as what its Content-Type says (no
// MIME sniffing of a trace or a modem's value into HTML) and forbids
// framing (no click-jacking of the landing page's probe form).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// crossSiteGuard refuses browser requests that another site makes to an
// endpoint that acts. Prometheus, curl and other programs send neither
// Sec-Fetch-Site nor Origin and pass; so do the landing page's own links
// (same-origin) and a URL a person types (Sec-Fetch-Site: none).
type crossSiteGuard struct {
	log     *zap.Logger
	refused *prometheus.CounterVec
	// post is Go's protection for state-changing methods (Sec-Fetch-Site,
	// else Origin against Host).
	post *http.CrossOriginProtection
}

func newCrossSiteGuard(log *zap.Logger, reg prometheus.Registerer) *crossSiteGuard {
	g := &crossSiteGuard{
		log: log,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hitron_exporter_cross_site_requests_refused_total",
			Help: "Browser requests from another site to an endpoint that acts (/probe, POST /modem, POST /-/reload), refused with 403.",
		}, []string{"endpoint"}),
		post: http.NewCrossOriginProtection(),
	}
	reg.MustRegister(g.refused)
	return g
}

// deny answers 403 and counts the refusal under endpoint.
func (g *crossSiteGuard) deny(w http.ResponseWriter, r *http.Request, endpoint string) {
	g.refused.WithLabelValues(endpoint).Inc()
	g.log.Warn("refused a cross-site browser request", zap.String("endpoint", endpoint),
		zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")), zap.String("origin", r.Header.Get("Origin")))
	http.Error(w, "cross-site requests to this endpoint are refused", http.StatusForbidden)
}

// Post guards a state-changing endpoint with http.CrossOriginProtection.
func (g *crossSiteGuard) Post(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.post.Check(r); err != nil {
			g.deny(w, r, endpoint)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Get guards an endpoint that acts on GET (a probe logs in to a modem and
// with force=1 ends a person's session): an <img> tag or a fetch() from
// another site, same-site ones included (another port of the same host),
// is refused.
func (g *crossSiteGuard) Get(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if crossSite(r) {
			g.deny(w, r, endpoint)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite reports whether a browser sent r on behalf of another site.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
		// Older browsers: an Origin header (sent with cross-origin fetches)
		// naming another host.
		origin := r.Header.Get("Origin")
		if origin == "" {
			return false
		}
		u, err := url.Parse(origin)
		return err != nil || u.Host != r.Host
	default: // cross-site, same-site, or anything new
		return true
	}
}

package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/collector"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
	"github.com/hitron-exporter/hitron-exporter/internal/target"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

// maxQueryBytes bounds the /probe query string.
const maxQueryBytes = 4096

// maxProbeTimeout caps the budget a scrape-timeout header can ask for.
const maxProbeTimeout = 120 * time.Second

// WriteTimeout is the longest an answer may take, from the end of the
// request's headers: the longest probe budget, plus time to send its
// metrics. An answer its client does not read is dropped then.
const WriteTimeout = maxProbeTimeout + 30*time.Second

// ownParams are the probe parameters the exporter reads itself; a
// provider kind may not declare one of them (secrets.Kind.Params).
var ownParams = map[string]bool{"target": true, "auth": true, "fingerprint": true, "force": true,
	"debug": true, "_port": true, "usr": true, "pwd": true}

// providerParams returns the probe parameters that reg's kinds declare, or
// an error when one is the exporter's own.
func providerParams(reg *secrets.Registry) ([]string, error) {
	params := reg.Params()
	for _, p := range params {
		if ownParams[p] || p == "" {
			return nil, fmt.Errorf("a provider kind declares the probe parameter %q, which the exporter reads itself", p)
		}
	}
	return params, nil
}

// handleProbe serves /probe?target=…: 400 for a refused request, otherwise
// 200 with the probe's metrics, probe_success 0 included.
func (s *Server) handleProbe(w http.ResponseWriter, r *http.Request) {
	plan, res, release, ok := s.runProbe(w, r)
	if !ok {
		return
	}
	defer release()
	// No gzip: a probe answer is a few tens of kilobytes sent once per
	// scrape, and compressing it cost more CPU than the rest of the probe.
	buf := s.answers.get()
	defer s.answers.put(buf)
	bw := &bufferedResponse{ResponseWriter: w, body: buf}
	query := r.URL.Query()
	if debug, _ := parseBool(query.Get("debug")); debug {
		s.writeDebug(bw, plan, res)
	} else {
		writeMetrics(bw, r, query, s.formats.negotiate(r.Header), res.Metrics)
	}
	bw.send()
	if bw.err != nil {
		s.unsent.Inc()
		s.log.Debug("probe answer not written in full", zap.String("target", plan.Target.Raw), zap.Error(bw.err))
	}
}

// writeMetrics answers with set in the format r negotiates, as
// promhttp.HandlerFor (OpenMetrics off, no compression) would: the text
// format, which scrapers ask for, straight from the Set; protobuf, a name[]
// filter or names that need escaping through promhttp.
func writeMetrics(bw *bufferedResponse, r *http.Request, query url.Values, format expfmt.Format, set *collector.Set) {
	if format.FormatType() == expfmt.TypeTextPlain && !query.Has("name[]") {
		if text, ok := set.AppendText(bw.body.AvailableBuffer()); ok {
			bw.Header().Add("Vary", "Accept")
			bw.Header().Set("Content-Type", string(format))
			_, _ = bw.Write(text)
			return
		}
	}
	promhttp.HandlerFor(set, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, DisableCompression: true}).ServeHTTP(bw, r)
}

// formatMemory remembers the format negotiated for the last Accept header
// seen: a Prometheus server sends the same one with every scrape, and
// expfmt parses it anew each time. Safe for concurrent use.
type formatMemory struct{ last atomic.Pointer[negotiated] }

// negotiated is one Accept header and the format it negotiates.
type negotiated struct {
	accept string
	format expfmt.Format
}

// negotiate returns the format h's Accept header negotiates, as
// expfmt.NegotiateAccept with expfmt.DefaultAcceptedFormats does.
func (m *formatMemory) negotiate(h http.Header) expfmt.Format {
	accept := h.Get("Accept") // all NegotiateAccept reads
	if n := m.last.Load(); n != nil && n.accept == accept {
		return n.format
	}
	f := expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...)
	m.last.Store(&negotiated{accept: accept, format: f})
	return f
}

// runProbe probes the modem r asks for and notes the result for its
// /modem page; a refused request is answered here and ok is false. The
// caller calls release once it has written the answer.
//
// Past --probe.max-concurrent probes in flight it answers 503 at once. The
// slot is held until release, after the answer is written: the answer's
// memory is the probe's. A client that does not read the answer would
// hold both for ever, so the answer must be written within
// ProbeWriteTimeout of the probe's end.
func (s *Server) runProbe(w http.ResponseWriter, r *http.Request) (plan *probe.Plan, res *probe.Result, release func(), ok bool) {
	if !s.admit.admit(w) {
		return nil, nil, nil, false
	}
	req, reason, err := s.probeRequest(r)
	if err != nil {
		s.admit.done()
		s.refuse(w, reason, err)
		return nil, nil, nil, false
	}
	snap := s.acquireSnapshot()
	plan, err = probe.NewPlan(snap, req)
	if err != nil {
		snap.Release()
		s.admit.done()
		s.refuse(w, "plan", err)
		return nil, nil, nil, false
	}
	res = s.prober.Probe(r.Context(), plan)
	s.modems.record(plan.Target.Raw, res)
	// (Not supported by every ResponseWriter, e.g. a test recorder. net/http
	// clears the deadline once the answer is done: a kept-alive connection
	// carries the next request without it.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.ProbeWriteTimeout))
	return plan, res, func() { snap.Release(); s.admit.done() }, true
}

func (s *Server) refuse(w http.ResponseWriter, reason string, err error) {
	s.refused.WithLabelValues(reason).Inc()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// probeRequest reads the query string. It never echoes usr or pwd.
func (s *Server) probeRequest(r *http.Request) (probe.Request, string, error) {
	var req probe.Request
	if len(r.URL.RawQuery) > maxQueryBytes {
		return req, "query", fmt.Errorf("query string longer than %d bytes", maxQueryBytes)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, "query", fmt.Errorf("malformed query string")
	}
	targets := q["target"]
	switch {
	case len(targets) == 0 || targets[0] == "":
		//lint:ignore ST1005 the original exporter's exact message, which its users may match on
		return req, "target", fmt.Errorf("Missing parameter: 'target'")
	case len(targets) > 1:
		return req, "target", fmt.Errorf("parameter 'target' given %d times; give it once", len(targets))
	}
	req.Target = targets[0]
	if port := q.Get("_port"); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return req, "port", fmt.Errorf("_port must be a number from 1 to 65535")
		}
		req.Target = target.WithPort(req.Target, n)
	}
	req.Auth = q.Get("auth")
	req.Fingerprint = q.Get("fingerprint")
	if req.Force, err = parseBool(q.Get("force")); err != nil {
		return req, "force", fmt.Errorf("force: %w", err)
	}
	_, hasUsr := q["usr"]
	_, hasPwd := q["pwd"]
	if hasUsr || hasPwd {
		if !s.opts.AllowURLCredentials {
			return req, "url_credentials", fmt.Errorf("credentials in the URL (usr, pwd) are refused: they end up in Prometheus' configuration, " +
				"its target list and access logs. Put them in a credentials file and name its profile with auth= " +
				"(auths: <name>: file: path: …), or start the exporter with --probe.allow-url-credentials")
		}
		if q.Get("usr") == "" || q.Get("pwd") == "" {
			//lint:ignore ST1005 the original exporter's exact message
			return req, "url_credentials", fmt.Errorf("Missing parameters: 'usr', 'pwd' or 'ipa_vault_namespace'")
		}
		c := secrets.NewCredentials(q.Get("usr"), q.Get("pwd"))
		req.URLCredentials = &c
	}
	for _, p := range s.providerParams {
		if v := q.Get(p); v != "" {
			if req.Params == nil {
				req.Params = map[string]string{}
			}
			req.Params[p] = v
		}
	}
	if h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); h != "" {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil || secs <= 0 || secs > 3600 {
			return req, "timeout", fmt.Errorf("invalid X-Prometheus-Scrape-Timeout-Seconds %q", h)
		}
		budget := time.Duration(secs*float64(time.Second)) - s.opts.TimeoutOffset
		req.Timeout = min(max(budget, 100*time.Millisecond), maxProbeTimeout)
	}
	return req, "", nil
}

// writeDebug writes the probe's trace and metrics as plain text.
func (s *Server) writeDebug(w http.ResponseWriter, plan *probe.Plan, res *probe.Result) {
	var b bytes.Buffer
	source, profile := plan.SourceName()
	fmt.Fprintf(&b, "Probe of %s\n", plan.Target.Raw)
	fmt.Fprintf(&b, "  connect to: %s\n  credentials: %s (profile %q)\n", dialTarget(plan), source, profile)
	pinText := "none (the modem is not authenticated)"
	if plan.Pin.IsSet() {
		pinText = plan.Pin.String()
		if plan.PinConfigured {
			pinText += " (from targets:)"
		} else {
			pinText += " (from fingerprint=)"
		}
	}
	if plan.Target.Insecure() {
		pinText = "none: plain HTTP (insecure_http), nothing authenticates the modem"
	}
	fmt.Fprintf(&b, "  pin: %s\n  dialect: %s\n  force: %v\n  timeout: %s\n", pinText, plan.Dialect, plan.Force, plan.Timeout)
	if res.Shared {
		b.WriteString("  (joined a concurrent identical probe)\n")
	}
	b.WriteString("\nTrace:\n")
	b.WriteString(res.Trace.String())
	b.WriteString("\nMetrics:\n")
	mfs, err := res.Metrics.Gather()
	if err != nil {
		fmt.Fprintf(&b, "gather error: %v\n", err)
	}
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		_ = enc.Encode(mf)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func dialTarget(p *probe.Plan) string {
	if p.Address != "" {
		return p.Address + " (address from targets:)"
	}
	return p.Target.HostPort()
}

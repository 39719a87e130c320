package server

import (
	"html/template"
	"net/http"
	"regexp"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/secrets"
)

var landing = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Hitron Exporter</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.ok{color:#080}.fail{color:#b00}code{background:#eee;padding:0 .2em}
</style></head>
<body>
<h1>Hitron Exporter</h1>
<p>Prometheus exporter for Hitron CGN cable modems. Version {{.Version}}.</p>
{{if .Banner}}<p id="banner">{{.Banner}}{{range .Examples}} <a class="banner-modem" href="/modem?target={{.}}">Open the demo modem's page</a>.{{end}}</p>{{end}}
{{range .Examples}}<p>Try it: <a class="example" href="/modem?target={{.}}">the modem page of {{.}}</a>
(raw metrics: <a class="example-raw" href="/probe?target={{.}}">/probe?target={{.}}</a>)</p>{{end}}
<h2>Probe a modem</h2>
<form id="probe-form" action="/probe" method="get">
<label>Target <input name="target" id="target" size="30" placeholder="192.0.2.1 or host:port"{{with .DemoTarget}} value="{{.}}"{{end}} required></label>
<label>Auth profile <select name="auth" id="auth">
<option value="">(target's or default)</option>
{{range .Profiles}}<option value="{{.}}">{{.}}</option>{{end}}
</select></label>
<label>Debug trace <input type="checkbox" name="debug" value="true" id="debug"></label>
<button type="submit" id="submit">Probe</button>
</form>
<p>Credentials are never entered here: they come from the auth profile.</p>
<h2>Recent probes</h2>
<table id="recent">
<tr><th>Started</th><th>Target</th><th>Profile</th><th>Result</th><th>Duration</th><th>Trace</th></tr>
{{range .Recent}}<tr><td>{{.Started.UTC.Format "2006-01-02 15:04:05"}}</td><td><a class="modem" href="/modem?target={{.Target}}">{{.Target}}</a></td><td>{{.Profile}}</td>
<td class="{{if .Success}}ok{{else}}fail{{end}}">{{if .Success}}success{{else}}failed: {{.Reason}}{{end}}</td>
<td>{{printf "%.3fs" .Duration.Seconds}}</td><td><a class="trace" href="/probes/{{.ID}}">trace</a></td></tr>
{{else}}<tr id="no-probes"><td colspan="6">No probes yet.</td></tr>
{{end}}</table>
<h2>Endpoints</h2>
<ul>
<li><a href="/metrics">/metrics</a>: the exporter's own metrics</li>
<li><a href="/config">/config</a>: the loaded configuration, secrets hidden</li>
<li><a href="/-/healthy">/-/healthy</a>, <a href="/-/ready">/-/ready</a>; <code>POST /-/reload</code></li>
</ul>
</body></html>
`))

// examples are the targets the landing page offers to try (the demo's
// simulated modem: a pinned target with a profile, or an open one that
// needs none).
func (s *Server) examples() []string {
	snap := s.current.Load()
	if snap == nil {
		return nil
	}
	var out []string
	for target, t := range snap.Config.Targets {
		if t != nil && (t.Auth != "" || !hitron.NeedsCredentials(t.Dialect)) && t.Pin.IsSet() && s.opts.Banner != "" {
			out = append(out, target)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Server) handleLanding(w http.ResponseWriter, r *http.Request) {
	snap := s.current.Load()
	var profiles []string
	if snap != nil {
		for n := range snap.Profiles {
			profiles = append(profiles, n)
		}
		sort.Strings(profiles)
	}
	recent := s.prober.History().List()
	if len(recent) > 25 {
		recent = recent[:25]
	}
	examples := s.examples()
	demoTarget := ""
	if len(examples) > 0 {
		demoTarget = examples[0]
	}
	pageHeaders(w, "text/html; charset=utf-8")
	_ = landing.Execute(w, map[string]any{
		"Version": s.opts.Version, "Banner": s.opts.Banner, "Profiles": profiles,
		"Recent": recent, "Examples": examples, "DemoTarget": demoTarget,
	})
}

var tracePage = template.Must(template.New("trace").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Probe {{.ID}} — Hitron Exporter</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:80em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.8em;border:1px solid #ddd}
.ok{color:#080}.fail{color:#b00}
</style></head>
<body>
<p><a id="back" href="/">← Hitron Exporter</a> · <a id="modem" href="/modem?target={{.Target}}">modem page of {{.Target}}</a></p>
<h1>Probe {{.ID}} of {{.Target}}</h1>
<p>Started {{.Started.UTC.Format "2006-01-02T15:04:05Z07:00"}}:
<span class="{{if .Success}}ok{{else}}fail{{end}}">{{if .Success}}success{{else}}failed: {{.Reason}}{{end}}</span></p>
<pre id="trace">{{.Trace.String}}</pre>
</body></html>
`))

// handleProbeTrace shows the debug trace of a recent probe.
func (s *Server) handleProbeTrace(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		http.Error(w, "bad probe id", http.StatusBadRequest)
		return
	}
	e, ok := s.prober.History().Get(id)
	if !ok {
		http.Error(w, "no such probe (only recent probes are kept)", http.StatusNotFound)
		return
	}
	pageHeaders(w, "text/html; charset=utf-8")
	_ = tracePage.Execute(w, e)
}

// sensitiveKey matches configuration keys whose values are secrets.
var sensitiveKey = regexp.MustCompile(`(?i)(pass(word|wd|phrase)?|token|secret(_?id)?|jwt|credentials?|api_?key|private_?key)$`)

// handleConfig shows the loaded configuration with secret values hidden.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	snap := s.current.Load()
	out := map[string]any{}
	auths := map[string]any{}
	for name, p := range snap.Profiles {
		var block any
		_ = p.Auth.Block.Decode(&block)
		entry := map[string]any{
			p.Auth.Provider:       redact(block),
			"require_fingerprint": p.Auth.RequiresFingerprint(p.Local),
		}
		if p.Auth.Timeout > 0 {
			entry["timeout"] = p.Auth.Timeout.String()
		}
		if len(p.Auth.AllowedTargets) > 0 {
			entry["allowed_targets"] = p.Auth.AllowedTargets
		}
		auths[name] = entry
	}
	out["auths"] = auths
	out["targets"] = snap.Config.Targets
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	_ = enc.Encode(out)
	_ = enc.Close()
}

// redact replaces values of sensitive keys with <secret>.
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if sensitiveKey.MatchString(k) {
				out[k] = secrets.Redacted
			} else {
				out[k] = redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = redact(val)
		}
		return out
	}
	return v
}

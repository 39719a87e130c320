package server

import (
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// modemPage renders a modem's last probe for a person. Every value the
// modem sent goes through html/template's contextual escaping.
var modemPage = template.Must(template.New("modem").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"secs": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Target}} — Hitron Exporter</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.good{background:#c8ecc8}.marginal{background:#ffe9a8}.poor{background:#f6c1c1}
.ok{color:#080}.fail{color:#b00}code{background:#eee;padding:0 .2em}
form{display:inline}small{color:#555}
</style></head>
<body>
<p><a href="/">← Hitron Exporter</a></p>
<h1 id="title">Modem <code>{{.Target}}</code></h1>
{{with .Last}}
<p id="last-probe">Last probe: {{when .Started}},
<span class="{{if .Success}}ok{{else}}fail{{end}}">{{if .Success}}success{{else}}failed: {{.Reason}}{{end}}</span>
in {{secs .Duration}}.{{if $.TraceID}} <a id="trace" href="/probes/{{$.TraceID}}">trace</a>{{end}}
<a id="raw" href="/probe?target={{$.Target}}">raw /probe</a>
<form method="post" action="/modem?target={{$.Target}}"><button id="probe-now" type="submit">Probe again</button></form></p>
<p><small>This page shows what the exporter's last probe of the modem read; opening it never probes the modem.</small></p>
{{with $.View}}
{{if not $.Last.Success}}<p class="fail" id="stale">The last probe failed; the data below is from the probe at {{when .ReadAt}}.</p>{{end}}
<h2>Device</h2>
<table id="device">
<tr><th>Model</th><td id="model">{{.Model}}{{if .ModelNote}} <small>({{.ModelNote}})</small>{{end}}</td></tr>
{{if .Vendor}}<tr><th>Vendor</th><td>{{.Vendor}}</td></tr>{{end}}
<tr><th>Firmware</th><td id="firmware">{{.Firmware}}</td></tr>
<tr><th>Hardware</th><td>{{.Hardware}}</td></tr>
<tr><th>Uptime</th><td id="uptime">{{.Uptime}}</td></tr>
{{if .NetworkAccess}}<tr><th>Network access</th><td>{{.NetworkAccess}}</td></tr>{{end}}
{{if .BPI}}<tr><th>BPI</th><td>{{.BPI}}</td></tr>{{end}}
</table>
{{with .Steps}}<h2>Provisioning</h2>
<table id="provisioning"><tr>{{range .}}<th>{{.Name}}</th>{{end}}</tr>
<tr>{{range .}}<td class="{{.Class}}">{{.Value}}</td>{{end}}</tr></table>{{end}}
{{if .RatesSince.IsZero}}<p id="rates-note">Codeword rates appear from the second probe of this modem.</p>
{{else}}<p id="rates-note">Codeword rates are since the previous probe, {{when .RatesSince}} ({{secs .Interval}} earlier).</p>{{end}}
{{with .Downstream}}<h2>Downstream channels (SC-QAM)</h2>
<table id="downstream">
<tr><th>Port</th><th>Channel</th><th>Frequency</th><th>Modulation</th><th>Power (dBmV)</th><th>SNR (dB)</th><th>Corrected</th><th>Uncorrectable</th><th>Corrected since previous</th><th>Uncorrectable since previous</th></tr>
{{range .}}<tr><td>{{.Port}}</td><td>{{.Channel}}</td><td class="num">{{.Frequency}}</td><td>{{.Modulation}}</td>
<td class="num power {{.Power.Class}}" title="{{.Power.Title}}">{{.Power.Text}}</td><td class="num snr {{.SNR.Class}}" title="{{.SNR.Title}}">{{.SNR.Text}}</td>
<td class="num">{{.Corrected.Text}}</td><td class="num">{{.Uncorrectable.Text}}</td>
<td class="num corrected-rate {{.CorrectedRate.Class}}" title="{{.CorrectedRate.Title}}">{{.CorrectedRate.Text}}</td><td class="num uncorrectable-rate {{.UncorrectableRate.Class}}" title="{{.UncorrectableRate.Title}}">{{.UncorrectableRate.Text}}</td></tr>
{{end}}</table>{{end}}
{{with .Upstream}}<h2>Upstream channels (SC-QAM)</h2>
<table id="upstream">
<tr><th>Port</th><th>Channel</th><th>Frequency</th><th>Width</th><th>Mode</th><th>Modulation</th><th>Power (dBmV)</th></tr>
{{range .}}<tr><td>{{.Port}}</td><td>{{.Channel}}</td><td class="num">{{.Frequency}}</td><td class="num">{{.Bandwidth}}</td><td>{{.Mode}}</td><td>{{.Modulation}}</td>
<td class="num power {{.Power.Class}}" title="{{.Power.Title}}">{{.Power.Text}}</td></tr>
{{end}}</table>{{end}}
{{with .OFDM}}<h2>Downstream OFDM receivers (DOCSIS 3.1)</h2>
<table id="ofdm">
<tr><th>Receiver</th><th>FFT</th><th>First subcarrier</th><th>Locks</th><th>PLC power (dBmV)</th><th>MER (dB)</th><th>Corrected</th><th>Uncorrectable</th><th>Corrected since previous</th><th>Uncorrectable since previous</th></tr>
{{range .}}<tr><td>{{.Receiver}}</td><td>{{.FFT}}</td><td class="num">{{.FirstSubcarrier}}</td><td>{{.Locks}}</td>
<td class="num power {{.PLCPower.Class}}" title="{{.PLCPower.Title}}">{{.PLCPower.Text}}</td><td class="num snr {{.MER.Class}}" title="{{.MER.Title}}">{{.MER.Text}}</td>
<td class="num">{{.Corrected.Text}}</td><td class="num">{{.Uncorrectable.Text}}</td>
<td class="num corrected-rate {{.CorrectedRate.Class}}" title="{{.CorrectedRate.Title}}">{{.CorrectedRate.Text}}</td><td class="num uncorrectable-rate {{.UncorrectableRate.Class}}" title="{{.UncorrectableRate.Title}}">{{.UncorrectableRate.Text}}</td></tr>
{{end}}</table>{{end}}
{{with .OFDMA}}<h2>Upstream OFDMA channels (DOCSIS 3.1)</h2>
<table id="ofdma">
<tr><th>Channel</th><th>Enabled</th><th>Frequency</th><th>Width</th><th>FFT</th><th>Reported power</th></tr>
{{range .}}<tr><td>{{.Channel}}</td><td>{{.Enabled}}</td><td class="num">{{.Frequency}}</td><td class="num">{{.Width}}</td><td>{{.FFT}}</td><td class="num">{{.Power}}</td></tr>
{{end}}</table>{{end}}
{{if .Truncated}}<p id="truncated">The modem sent more than {{$.MaxRows}} rows in a table; only the first {{$.MaxRows}} are shown.</p>{{end}}
{{with .Events}}<h2>Event log</h2>
<table id="events"><tr><th>Time</th><th>Priority</th><th>Event</th></tr>
{{range .}}<tr><td>{{.Time}}</td><td>{{.Priority}}</td><td>{{.Text}}</td></tr>
{{end}}</table>{{end}}
{{end}}
{{else}}
<p id="no-data">No probe has read this modem's pages yet{{if .Known}}: the exporter knows it from its configuration{{end}}. Opening this page never probes the modem; this button does, once:</p>
<form method="post" action="/modem?target={{.Target}}"><button id="probe-now" type="submit">Probe it now</button></form>
<p>Or scrape it: <a id="raw" href="/probe?target={{.Target}}">/probe?target={{.Target}}</a></p>
{{end}}
<h2>Operating ranges</h2>
<p>Cells are coloured <span class="good">good</span>, <span class="marginal">marginal</span> or <span class="poor">poor</span> against these usual DOCSIS ranges. They are rules of thumb for a healthy line, not limits: your operator's may differ. An uncorrectable codeword since the previous probe is poor, a corrected one marginal.</p>
<table id="ranges">
<tr><th>Quantity</th><th>Good</th><th>Marginal (outside good)</th><th>Poor</th><th>Source</th></tr>
{{range .Ranges}}<tr><td>{{.Quantity}}</td><td class="good">{{.Good}}</td><td class="marginal">{{.Marginal}}</td><td class="poor">{{.Poor}}</td><td><small>{{.Source}}</small></td></tr>
{{end}}</table>
</body></html>
`))

// modemTarget reads the one target parameter of a /modem request.
func modemTarget(r *http.Request) (string, bool) {
	if len(r.URL.RawQuery) > maxQueryBytes {
		return "", false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["target"]) != 1 || q.Get("target") == "" {
		return "", false
	}
	return q.Get("target"), true
}

// handleModem serves /modem?target=…: the modem's last probe for a person.
// It reads what earlier probes stored and never probes the modem.
func (s *Server) handleModem(w http.ResponseWriter, r *http.Request) {
	target, ok := modemTarget(r)
	if !ok {
		http.Error(w, "give one target: /modem?target=<modem>", http.StatusBadRequest)
		return
	}
	data := map[string]any{"Target": target, "Ranges": signalRanges, "MaxRows": maxModemRows}
	status := http.StatusOK
	if last, view, ok := s.modems.page(target); ok {
		data["Last"], data["View"] = &last, view
		for _, h := range s.prober.History().List() {
			if h.Target == target {
				data["TraceID"] = h.ID
				break
			}
		}
	} else {
		status = http.StatusNotFound
		if snap := s.current.Load(); snap != nil {
			_, data["Known"] = snap.Config.Targets[target]
		}
	}
	pageHeaders(w, "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = modemPage.Execute(w, data)
}

// handleModemProbe serves the modem page's button (POST /modem?target=…):
// it probes the modem as /probe would and shows the page again.
func (s *Server) handleModemProbe(w http.ResponseWriter, r *http.Request) {
	target, ok := modemTarget(r)
	if !ok {
		http.Error(w, "give one target: /modem?target=<modem>", http.StatusBadRequest)
		return
	}
	_, _, release, ok := s.runProbe(w, r)
	if !ok {
		return
	}
	release()
	http.Redirect(w, r, "/modem?target="+url.QueryEscape(target), http.StatusSeeOther)
}

// pageHeaders sets the headers of the exporter's own pages.
func pageHeaders(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

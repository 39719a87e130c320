package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/probe"
)

// getWithHeaders is env.get that also returns the response headers.
func (e *env) getWithHeaders(path string) (int, http.Header, string) {
	e.t.Helper()
	code, body := e.get(path)
	resp, err := http.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = resp.Body.Close()
	return code, resp.Header, body
}

// TestModemPageShowsTheLastProbeAndNeverProbes: the page of a modem not
// probed yet offers a probe without making one; after a probe it shows the
// data, coloured, and opening it still sends the modem nothing.
func TestModemPageShowsTheLastProbeAndNeverProbes(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	page := "/modem?target=" + url.QueryEscape(e.sim.Addr())
	code, hdr, body := e.getWithHeaders(page)
	if code != http.StatusNotFound || !strings.Contains(body, `id="no-data"`) || !strings.Contains(body, "from its configuration") {
		t.Fatalf("page before any probe: %d\n%s", code, body)
	}
	if hdr.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("headers: %v", hdr)
	}
	if n := e.sim.Stats().Requests; n != 0 {
		t.Fatalf("opening the modem page sent the modem %d requests", n)
	}

	e.probe("target=" + e.sim.Addr())
	before := e.sim.Stats().Requests
	code, body = e.get(page)
	if code != 200 {
		t.Fatalf("modem page: %d\n%s", code, body)
	}
	if n := e.sim.Stats().Requests; n != before {
		t.Fatalf("opening the modem page sent the modem %d requests", n-before)
	}
	// The CGNV4-FX4 data set: 16.8 dBmV downstream is above +15 (poor),
	// 40.9 dB SNR is good, 37 dBmV upstream is below the good 40 (marginal).
	for _, want := range []string{
		`<td id="model">CGNV4-FX4`, `<td class="num power poor"`, `>16.8</td>`, `<td class="num snr good"`, `>40.9</td>`,
		`<td class="num power marginal"`, `>37.0</td>`, "Codeword rates appear from the second probe", `id="ranges"`,
		"CM-SP-PHYv3.0", `<td class="good">Success</td>`, `href="/probes/1"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="events"`) {
		t.Error("an event-log section without events")
	}
	if t.Failed() {
		t.Fatalf("page:\n%s", body)
	}

	// A second probe gives codeword rates since the first.
	e.probe("target=" + e.sim.Addr())
	_, body = e.get(page)
	if !strings.Contains(body, "Codeword rates are since the previous probe") {
		t.Fatalf("no rates after the second probe:\n%s", body)
	}

	// A failed probe is shown as the last one, above the data of the last
	// one that read the pages.
	e.sim.SetFault(modemsim.FaultHTTP500)
	e.probe("target=" + e.sim.Addr())
	_, body = e.get(page)
	if !strings.Contains(body, `id="stale"`) || !strings.Contains(body, "failed: ") || !strings.Contains(body, `>16.8</td>`) {
		t.Fatalf("after a failed probe:\n%s", body)
	}
}

// TestModemPageButtonProbesOnce: the page's button (POST) probes the modem
// and sends the browser back to the page.
func TestModemPageButtonProbesOnce(t *testing.T) {
	e := newEnv(t, modemsim.Config{DataSet: "CODA-45"}, pinnedConfig)
	page := "/modem?target=" + url.QueryEscape(e.sim.Addr())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Another site's form posting to the button is refused.
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+page, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || e.sim.Stats().Requests != 0 {
		t.Fatalf("cross-site POST %s: %d, %d requests reached the modem", page, resp.StatusCode, e.sim.Stats().Requests)
	}
	resp, err = client.Post(e.http.URL+page, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page {
		t.Fatalf("POST %s: %d, Location %q", page, resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := e.sim.Stats().Logins; n != 1 {
		t.Fatalf("%d logins, want 1", n)
	}
	_, body := e.get(page)
	for _, want := range []string{`<td id="model">CODA <small>(inferred`, "7.2.4.7.1b4", `id="ofdm"`, `id="ofdma"`, "3d 12h 37m 16s"} {
		if !strings.Contains(body, want) {
			t.Errorf("CODA-45 page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("page:\n%s", body)
	}
}

// hostile is a model name a malicious modem might send.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// TestModemPageEscapesWhatTheModemSent feeds markup in every kind of
// string the page shows, and in the target.
func TestModemPageEscapesWhatTheModemSent(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	target := `"><script>alert(2)</script>`
	data := &hitron.Data{
		Model:      &hitron.ModelInfo{ModelName: hostile, Vendor: hostile},
		System:     &hitron.SystemInfo{SoftwareVersion: hostile, HardwareVersion: hostile, Uptime: hitron.Some(60)},
		Init:       &hitron.InitStatus{Steps: []hitron.InitStep{{Name: "ranging", Raw: hostile}}, NetworkAccess: hostile},
		Downstream: []hitron.DownstreamChannel{{Port: hostile, Channel: "1", Modulation: hostile, Power: hitron.Some(1), SNR: hitron.Some(40)}},
		Upstream:   []hitron.UpstreamChannel{{Port: "1", Channel: hostile, Mode: hostile, Power: hitron.Some(45)}},
		OFDM:       []hitron.OFDMReceiver{{Receiver: hostile, FFT: hostile}},
		OFDMA:      []hitron.OFDMAChannel{{Channel: hostile, FFT: hostile}},
	}
	e.srv.modems.record(target, &probe.Result{Success: true, Started: time.Now(), Data: data})
	code, body := e.get("/modem?target=" + url.QueryEscape(target))
	if code != 200 {
		t.Fatalf("%d\n%s", code, body)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
		t.Fatalf("page carries markup the modem sent:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("the hostile model name is not shown escaped:\n%s", body)
	}
}

// TestModemStoreIsBounded: probing more modems than the cap keeps the cap
// and counts what it forgot; failed probes of unknown targets add nothing.
func TestModemStoreIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newModemStore(8, reg)
	start := time.Now()
	for i := range 1000 {
		m.record(fmt.Sprintf("attacker-%d", i), &probe.Result{Started: start.Add(time.Duration(i)), Reason: "connect"})
	}
	if m.len() != 0 {
		t.Fatalf("failed probes of unknown targets left %d entries", m.len())
	}
	for i := range 1000 {
		m.record(fmt.Sprintf("192.0.2.%d", i), &probe.Result{Success: true, Started: start.Add(time.Duration(i)), Data: &hitron.Data{}})
	}
	if m.len() != 8 {
		t.Fatalf("%d entries, want the cap of 8", m.len())
	}
	if got := testutil.ToFloat64(m.evicted); got != 992 {
		t.Fatalf("evicted counter %v, want 992", got)
	}
	if _, _, ok := m.page("192.0.2.999"); !ok {
		t.Fatal("the most recent modem was forgotten")
	}
	if _, _, ok := m.page("192.0.2.0"); ok {
		t.Fatal("the least recent modem was kept")
	}
}

// TestModemViewBoundsWhatItKeeps: a modem sending thousands of channels
// and megabyte strings is kept at the row and text caps.
func TestModemViewBoundsWhatItKeeps(t *testing.T) {
	long := strings.Repeat("é", 1<<20)
	d := &hitron.Data{Model: &hitron.ModelInfo{ModelName: long}}
	for range 5000 {
		d.Downstream = append(d.Downstream, hitron.DownstreamChannel{Port: long, Channel: long})
	}
	v, counters := buildModemView(d, nil, time.Time{}, time.Now()), readCounters(d.Downstream, d.OFDM)
	if len(v.Downstream) != maxModemRows || !v.Truncated || len(counters) > maxModemRows {
		t.Fatalf("%d rows, %d counters, truncated %v", len(v.Downstream), len(counters), v.Truncated)
	}
	if len(v.Model) > maxModemText+len("…") || len(v.Downstream[0].Port) > maxModemText+len("…") {
		t.Fatalf("strings kept at %d and %d bytes", len(v.Model), len(v.Downstream[0].Port))
	}
	if !strings.HasSuffix(v.Model, "é…") {
		t.Fatalf("clipped inside a rune: %q", v.Model[len(v.Model)-8:])
	}
}

// TestCodewordRates: rates against the previous probe's counters, a
// counter reset, and the first probe.
func TestCodewordRates(t *testing.T) {
	t0 := time.Now()
	row := func(corr, unc float64) *hitron.Data {
		return &hitron.Data{Downstream: []hitron.DownstreamChannel{{Port: "1", Channel: "5", Corrected: hitron.Some(corr), Uncorrect: hitron.Some(unc)}}}
	}
	first, second := row(100, 10), row(160, 10)
	v := buildModemView(first, nil, time.Time{}, t0)
	if got := v.Downstream[0].CorrectedRate.Text; got != "–" || !v.RatesSince.IsZero() {
		t.Fatalf("first probe: rate %q, since %v", got, v.RatesSince)
	}
	v = buildModemView(second, readCounters(first.Downstream, nil), t0, t0.Add(30*time.Second))
	ds := v.Downstream[0]
	if ds.CorrectedRate.Text != "+60 (2.00/s)" || ds.CorrectedRate.Class != classMarginal ||
		ds.UncorrectableRate.Text != "+0 (0.00/s)" || ds.UncorrectableRate.Class != classGood || v.Interval != 30*time.Second {
		t.Fatalf("second probe: %+v %+v", ds.CorrectedRate, ds.UncorrectableRate)
	}
	v = buildModemView(row(5, 12), readCounters(second.Downstream, nil), t0.Add(30*time.Second), t0.Add(60*time.Second))
	ds = v.Downstream[0]
	if ds.CorrectedRate.Text != "reset" || ds.UncorrectableRate.Text != "+2 (0.07/s)" || ds.UncorrectableRate.Class != classPoor {
		t.Fatalf("after a reset: %+v %+v", ds.CorrectedRate, ds.UncorrectableRate)
	}
}

// TestModemPageEventLogOnlyWithEvents: the event-log section is rendered
// when the view has events and left out otherwise.
func TestModemPageEventLogOnlyWithEvents(t *testing.T) {
	for _, events := range [][]eventView{nil, {{Time: "2026-01-01 00:00", Priority: "critical", Text: "No Ranging Response received - T3 time-out <b>"}}} {
		var b strings.Builder
		view := &modemView{Model: "X", Events: events}
		if err := modemPage.Execute(&b, map[string]any{"Target": "t", "Last": &probeSummary{Success: true}, "View": view, "Ranges": signalRanges}); err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(b.String(), `id="events"`)
		if has != (len(events) > 0) {
			t.Fatalf("%d events: section shown %v", len(events), has)
		}
		if has && !strings.Contains(b.String(), "T3 time-out &lt;b&gt;") {
			t.Fatalf("event text not shown escaped:\n%s", b.String())
		}
	}
}

// TestSignalRanges classifies values at and across the band edges.
func TestSignalRanges(t *testing.T) {
	for _, c := range []struct {
		r    signalRange
		v    float64
		want string
	}{
		{downstreamPowerRange, 0, classGood}, {downstreamPowerRange, 10, classGood}, {downstreamPowerRange, -12, classMarginal},
		{downstreamPowerRange, 15, classMarginal}, {downstreamPowerRange, 16.8, classPoor}, {downstreamPowerRange, -15.1, classPoor},
		{downstreamSNRRange, 40.9, classGood}, {downstreamSNRRange, 35, classGood}, {downstreamSNRRange, 32, classMarginal}, {downstreamSNRRange, 29.9, classPoor},
		{upstreamPowerRange, 45, classGood}, {upstreamPowerRange, 37, classMarginal}, {upstreamPowerRange, 51, classMarginal},
		{upstreamPowerRange, 53, classPoor}, {upstreamPowerRange, 20, classPoor},
	} {
		if got := c.r.Class(c.v); got != c.want {
			t.Errorf("%s %v: %s, want %s", c.r.Quantity, c.v, got, c.want)
		}
	}
	if got := downstreamSNRRange.Poor(); got != "below 30 dB" {
		t.Errorf("SNR poor band %q", got)
	}
}

// TestLandingAndTracePages: an empty table says so; rows link to the modem
// page; the trace page is HTML that links back, wraps long lines and prints
// the certificate subject's escapes once.
func TestLandingAndTracePages(t *testing.T) {
	e := newEnv(t, modemsim.Config{}, pinnedConfig)
	_, hdr, body := e.getWithHeaders("/")
	if !strings.Contains(body, "No probes yet.") || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("empty landing page:\n%s", body)
	}
	e.probe("target=" + e.sim.Addr())
	_, body = e.get("/")
	if strings.Contains(body, "No probes yet.") || !strings.Contains(strings.ToLower(body), strings.ToLower(`href="/modem?target=`+url.QueryEscape(e.sim.Addr())+`"`)) {
		t.Fatalf("landing page after a probe:\n%s", body)
	}
	code, hdr, body := e.getWithHeaders("/probes/1")
	if code != 200 || hdr.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(body, `<a id="back" href="/">`) ||
		!strings.Contains(body, "white-space:pre-wrap") || !strings.Contains(body, "dsinfo: parsed") {
		t.Fatalf("trace page: %d\n%s", code, body)
	}
	// The simulator's OU has commas, which the subject escapes as "\,".
	if !strings.Contains(body, `No. 40\, Wu-kung`) || strings.Contains(body, `\\`) {
		t.Fatalf("certificate subject not printed as is:\n%s", body)
	}
}

// TestModemPageShowsTheRESTEventLog: once a dialect supplies the log (rest's
// CM/Log), the modem page shows it, newest first, times in the target's
// zone, text escaped and clipped.
func TestModemPageShowsTheRESTEventLog(t *testing.T) {
	e := newEnv(t, modemsim.Config{Dialect: modemsim.DialectREST}, pinnedConfig+"    timezone: Europe/Berlin\n")
	e.probe("target=" + e.sim.Addr())
	code, body := e.get("/modem?target=" + url.QueryEscape(e.sim.Addr()))
	if code != 200 || !strings.Contains(body, `id="events"`) {
		t.Fatalf("modem page %d without the event log:\n%s", code, body)
	}
	newest := strings.Index(body, "2020-11-17 09:12:40")
	oldest := strings.Index(body, "1970-01-01 00:00:17")
	if newest < 0 || oldest < 0 || newest > oldest {
		t.Fatalf("the log is not shown newest first (%d, %d):\n%s", newest, oldest, body)
	}
	for _, want := range []string{`<td id="model">CODA-4680-TPIA`, "No Ranging Response received - T3 time-out", "critical"} {
		if !strings.Contains(body, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
}

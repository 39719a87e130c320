package e2e

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hitron-exporter/hitron-exporter/internal/demo"
)

// screenshotDir is where TestModemPageInTheDemo writes its screenshots when
// UPDATE_DOCS is set (the README shows them); otherwise they go to a
// temporary directory, so a test run leaves the work tree clean.
var screenshotDir = filepath.Join("..", "..", "docs", "images")

// fixtureRow is one channel of a simulator data set, as the firmware
// writes it.
type fixtureRow struct {
	Power string `json:"signalStrength"`
	SNR   string `json:"snr"`
}

// pageCell is a value cell as Chromium rendered it.
type pageCell struct {
	Text  string `json:"text"`
	Class string `json:"class"`
	Color string `json:"color"`
}

// The usual operating ranges as docs/metrics.md states them, written out
// again here so the test checks the page against the documentation rather
// than against the page's own table.
func downstreamPowerClass(v float64) string {
	switch {
	case v >= -10 && v <= 10:
		return "good"
	case v >= -15 && v <= 15:
		return "marginal"
	}
	return "poor"
}

func snrClass(v float64) string {
	switch {
	case v >= 35:
		return "good"
	case v >= 30:
		return "marginal"
	}
	return "poor"
}

func upstreamPowerClass(v float64) string {
	switch {
	case v >= 40 && v <= 50:
		return "good"
	case v >= 35 && v <= 52:
		return "marginal"
	}
	return "poor"
}

// TestModemPageInTheDemo is a newcomer's first minutes in headless
// Chromium: the demo's landing page, "Try it" to the modem page, its
// button to probe, then the values and their colours checked against the
// simulator's data set, and screenshots of both pages.
func TestModemPageInTheDemo(t *testing.T) {
	for _, c := range []struct{ dataset, fixture, shot string }{
		{"", "CGNV4-FX4", "modem-page.png"},
		{"CODA-45", "CODA-45", "modem-page-CODA-45.png"},
	} {
		t.Run(c.fixture, func(t *testing.T) { demoInBrowser(t, c.dataset, c.fixture, c.shot) })
	}
}

func demoInBrowser(t *testing.T, dataset, fixture, shot string) {
	args := []string{"--demo"}
	if dataset != "" {
		args = append(args, "--demo.dataset="+dataset)
	}
	e := startExporter(t, nil, args...)
	ctx := newBrowser(t)
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	eval := func(what, js string, into any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
		step(what, err)
		step("decode "+what, json.Unmarshal(raw, into))
	}
	shots := t.TempDir()
	if os.Getenv("UPDATE_DOCS") != "" {
		shots = screenshotDir
	}
	screenshot := func(name string) {
		t.Helper()
		img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		step("screenshot "+name, err)
		if _, err := png.Decode(bytes.NewReader(img)); err != nil {
			t.Fatalf("screenshot %s is not a PNG: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The landing page: demo target prefilled, empty table said so.
	step("open the landing page", chromedp.Do(ctx, chromedp.Navigate(e.url("/")), chromedp.WaitVisible("#probe-form")))
	var landing struct {
		Target, NoProbes, Banner, TryIt, Raw string
	}
	eval("read the landing page", `({
		Target: document.querySelector("#target").value,
		NoProbes: document.querySelector("#no-probes") ? document.querySelector("#no-probes").innerText : "",
		Banner: document.querySelector("#banner a.banner-modem").getAttribute("href"),
		TryIt: document.querySelector("a.example").getAttribute("href"),
		Raw: document.querySelector("a.example-raw").getAttribute("href"),
	})`, &landing)
	if landing.Target == "" || !strings.HasPrefix(landing.Target, "127.0.0.1:") || !strings.Contains(landing.NoProbes, "No probes yet") ||
		landing.TryIt != landing.Banner || !strings.HasPrefix(landing.TryIt, "/modem?target=") || !strings.HasPrefix(landing.Raw, "/probe?target=") {
		t.Fatalf("landing page: %+v", landing)
	}

	// "Try it": the modem page, which has nothing yet and probes nothing.
	step("click Try it", chromedp.Do(ctx, chromedp.Click("a.example"), chromedp.WaitVisible("#no-data")))
	step("probe it now", chromedp.Do(ctx, chromedp.Click("#probe-now"), chromedp.WaitVisible("#downstream")))
	step("probe again", chromedp.Do(ctx, chromedp.Click("#probe-now")))
	deadline := time.Now().Add(20 * time.Second)
	for note := ""; !strings.Contains(note, "since the previous probe"); {
		if time.Now().After(deadline) {
			t.Fatalf("after two probes the page says %q", note)
		}
		time.Sleep(50 * time.Millisecond)
		note, _ = chromedp.Run(ctx, chromedp.Text("#rates-note"))
	}
	title, err := chromedp.Run(ctx, chromedp.Text("#title"))
	step("read the title", err)
	if !strings.Contains(title, landing.Target) {
		t.Fatalf("modem page title %q, want the demo target %s", title, landing.Target)
	}

	// Colours: what a class looks like, from the legend.
	var legend map[string]string
	eval("read the legend colours", `(() => {
		const out = {};
		for (const c of ["good", "marginal", "poor"]) {
			out[c] = getComputedStyle(document.querySelector("#ranges td." + c)).backgroundColor;
		}
		out.none = getComputedStyle(document.querySelector("#ranges td")).backgroundColor;
		return out;
	})()`, &legend)
	if legend["good"] == legend["marginal"] || legend["marginal"] == legend["poor"] || legend["good"] == legend["poor"] {
		t.Fatalf("the classes are not told apart by colour: %v", legend)
	}
	cells := func(sel string) []pageCell {
		t.Helper()
		var out []pageCell
		eval("read "+sel, `Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).map(td => ({
			text: td.innerText.trim(), class: td.className, color: getComputedStyle(td).backgroundColor}))`, &out)
		return out
	}
	check := func(what string, got []pageCell, want []string, class func(float64) string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d cells on the page, %d in the data set", what, len(got), len(want))
		}
		for i, raw := range want {
			v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
			if strings.TrimSpace(raw) == "NA" {
				// A placeholder: no value, no colour.
				if got[i].Text != "–" || got[i].Color != legend["none"] {
					t.Errorf("%s row %d: page shows %q colour %s for the modem's %q", what, i, got[i].Text, got[i].Color, raw)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s row %d: data set value %q", what, i, raw)
			}
			wantText, wantClass := strconv.FormatFloat(v, 'f', 1, 64), class(v)
			if got[i].Text != wantText || !strings.Contains(" "+got[i].Class+" ", " "+wantClass+" ") || got[i].Color != legend[wantClass] {
				t.Errorf("%s row %d: page shows %q class %q colour %s; data set %s → %q, %s (%s)", what, i, got[i].Text, got[i].Class, got[i].Color, raw, wantText, wantClass, legend[wantClass])
			}
		}
	}
	ds := readFixture(t, fixture, "dsinfo")
	us := readFixture(t, fixture, "usinfo")
	var dsPower, dsSNR, usPower []string
	for _, r := range ds {
		dsPower, dsSNR = append(dsPower, r.Power), append(dsSNR, r.SNR)
	}
	for _, r := range us {
		usPower = append(usPower, r.Power)
	}
	check("downstream power", cells("#downstream td.power"), dsPower, downstreamPowerClass)
	check("downstream SNR", cells("#downstream td.snr"), dsSNR, snrClass)
	check("upstream power", cells("#upstream td.power"), usPower, upstreamPowerClass)
	if ofdm := readOFDMFixture(t, fixture); ofdm != nil {
		var plc, mer []string
		for _, r := range ofdm {
			plc, mer = append(plc, r.PLCPower), append(mer, r.MER)
		}
		check("OFDM PLC power", cells("#ofdm td.power"), plc, downstreamPowerClass)
		check("OFDM MER", cells("#ofdm td.snr"), mer, snrClass)
	}
	// The demo modem's counters grow by demo.CodewordGrowth corrected and
	// one uncorrectable codeword per probe; the page shows that growth
	// since the previous probe wherever the data set has counters.
	var dsRows []struct {
		Corrected string `json:"correcteds"`
	}
	b, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", fixture, "dsinfo.json"))
	step("read the data set", err)
	step("decode the data set", json.Unmarshal(b, &dsRows))
	corrected, uncorrectable := cells("#downstream td.corrected-rate"), cells("#downstream td.uncorrectable-rate")
	if len(corrected) != len(dsRows) || len(uncorrectable) != len(dsRows) {
		t.Fatalf("%d and %d rate cells for %d channels", len(corrected), len(uncorrectable), len(dsRows))
	}
	for i, r := range dsRows {
		if r.Corrected == "" {
			if corrected[i].Text != "–" || uncorrectable[i].Text != "–" {
				t.Errorf("channel %d has no counters but shows rates %q, %q", i, corrected[i].Text, uncorrectable[i].Text)
			}
			continue
		}
		if !strings.HasPrefix(corrected[i].Text, "+"+strconv.Itoa(demo.CodewordGrowth)+" (") || corrected[i].Color != legend["marginal"] ||
			!strings.HasPrefix(uncorrectable[i].Text, "+1 (") || uncorrectable[i].Color != legend["poor"] {
			t.Errorf("channel %d rates: corrected %+v, uncorrectable %+v", i, corrected[i], uncorrectable[i])
		}
	}
	model, err := chromedp.Run(ctx, chromedp.Text("#model"))
	step("read the model", err)
	if want := strings.SplitN(fixture, "-", 2)[0]; !strings.Contains(model, want) {
		t.Errorf("model %q, want it to name %s", model, want)
	}
	screenshot(shot)

	// Back on the landing page, the rows link to the modem page and to the
	// trace, which links back.
	step("back to the landing page", chromedp.Do(ctx, chromedp.Navigate(e.url("/")), chromedp.WaitVisible("#recent")))
	var rows []string
	eval("read the recent rows", `Array.from(document.querySelectorAll("#recent a.modem")).map(a => a.getAttribute("href"))`, &rows)
	if len(rows) != 2 || rows[0] != landing.TryIt || rows[1] != landing.TryIt {
		t.Fatalf("recent-probe rows link to %v, want two links to %s", rows, landing.TryIt)
	}
	if dataset == "" {
		screenshot("landing-page.png")
	}
	step("open a trace", chromedp.Do(ctx, chromedp.Click("#recent a.trace"), chromedp.WaitVisible("#trace")))
	step("follow the trace's link back", chromedp.Do(ctx, chromedp.Click("#back"), chromedp.WaitVisible("#probe-form")))
	deadline = time.Now().Add(10 * time.Second)
	for loc := ""; !strings.HasSuffix(loc, "/"); {
		if time.Now().After(deadline) {
			t.Fatalf("the trace's back link went to %s", loc)
		}
		loc, err = chromedp.Run(ctx, chromedp.Location())
		step("location", err)
	}
}

func readFixture(t *testing.T, set, page string) []fixtureRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", set, page+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []fixtureRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s/%s: %v", set, page, err)
	}
	return rows
}

// ofdmRow is one OFDM receiver of a data set.
type ofdmRow struct {
	PLCPower string `json:"plcpower"`
	MER      string `json:"SNR"`
}

// readOFDMFixture reads a data set's OFDM receivers (nil: it has none).
func readOFDMFixture(t *testing.T, set string) []ofdmRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "modemsim", "fixtures", set, "dsofdminfo.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var rows []ofdmRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s/dsofdminfo: %v", set, err)
	}
	return rows
}

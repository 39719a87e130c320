package server

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// metricsDoc is the generated metrics reference.
var metricsDoc = filepath.Join("..", "..", "docs", "metrics.md")

type family struct {
	name, typ, help string
	labels          map[string]bool
	sets            map[string]bool
	dialects        map[string]bool
}

// docRun is one probe the reference is built from: a data set served in a
// dialect (the data set's own unless given), as configured for the target.
type docRun struct {
	set, dialect, targetDialect string
}

// TestMetricsReferenceIsCurrent builds docs/metrics.md from what the code
// really emits: probes of every data set (and a failed probe) and the
// exporter's own /metrics. Run with UPDATE_DOCS=1 to rewrite it.
func TestMetricsReferenceIsCurrent(t *testing.T) {
	probeFams := map[string]*family{}
	var runs []docRun
	for _, set := range append(modemsim.DataSets(), "(failed probe)", "(CGNV4-FX4, every page)") {
		runs = append(runs, docRun{set: set})
	}
	// No CODA-4582U capture exists: its dialect is shown serving the
	// CGNV4-FX4 pages, as the dialect's session around the same pages.
	runs = append(runs, docRun{set: modemsim.DefaultDataSet, dialect: modemsim.DialectCODAUserID, targetDialect: modemsim.DialectCODAUserID})
	for _, run := range runs {
		set := run.set
		cfg := modemsim.Config{Dialect: run.dialect}
		if !strings.HasPrefix(set, "(") {
			cfg.DataSet = set
		}
		if cfg.Dialect == "" {
			cfg.Dialect = modemsim.DefaultDialect(cfg.DataSet)
		}
		config := pinnedConfig
		if strings.Contains(set, "every page") {
			config += "    datasets: [system_model, getSysInfo, getCMInit, getCmDocsisWan, dsinfo, usinfo, getConnectInfo]\n"
		}
		if run.targetDialect != "" {
			config += "    dialect: " + run.targetDialect + "\n"
		}
		e := newEnv(t, cfg, config)
		if set == "(failed probe)" {
			e.sim.SetFault(modemsim.FaultHTTP500)
		}
		body := e.probe("target=" + e.sim.Addr())
		collect(t, body, set, probeFams)
		if !strings.HasPrefix(set, "(") {
			for _, f := range probeFams {
				if strings.Contains(body, "\n"+f.name+" ") || strings.Contains(body, "\n"+f.name+"{") {
					f.dialects[cfg.Dialect] = true
				}
			}
		}
		if run.dialect != "" {
			continue // the default data set's /metrics is read once
		}
		if set == modemsim.DefaultDataSet {
			ownFams := map[string]*family{}
			_, body := e.get("/metrics")
			collect(t, body, "", ownFams)
			defer func() { writeOrCompare(t, probeFams, ownFams) }()
		}
	}
}

func collect(t *testing.T, body, set string, into map[string]*family) {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, mf := range fams {
		f, ok := into[name]
		if !ok {
			f = &family{name: name, typ: strings.ToLower(mf.GetType().String()), help: mf.GetHelp(), labels: map[string]bool{},
				sets: map[string]bool{}, dialects: map[string]bool{}}
			into[name] = f
		}
		if set != "" {
			f.sets[set] = true
		}
		for _, m := range mf.GetMetric() {
			for _, l := range labelsOf(m) {
				f.labels[l] = true
			}
		}
	}
}

func labelsOf(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName())
	}
	return out
}

func render(title, intro string, fams map[string]*family, showSets bool, b *bytes.Buffer) {
	names := make([]string, 0, len(fams))
	for n := range fams {
		if strings.HasPrefix(n, "go_") || strings.HasPrefix(n, "process_") || strings.HasPrefix(n, "promhttp_") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(b, "## %s\n\n%s\n\n", title, intro)
	if showSets {
		b.WriteString("| metric | type | labels | help | seen with data sets | seen with dialects |\n|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| metric | type | labels | help |\n|---|---|---|---|\n")
	}
	for _, n := range names {
		f := fams[n]
		var labels, sets, dialects []string
		for d := range f.dialects {
			dialects = append(dialects, "`"+d+"`")
		}
		sort.Strings(dialects)
		for l := range f.labels {
			labels = append(labels, "`"+l+"`")
		}
		for s := range f.sets {
			sets = append(sets, s)
		}
		sort.Strings(labels)
		sort.Strings(sets)
		help := strings.ReplaceAll(f.help, "|", "\\|")
		if showSets {
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", n, f.typ, strings.Join(labels, ", "), help, strings.Join(sets, ", "), strings.Join(dialects, ", "))
		} else {
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", n, f.typ, strings.Join(labels, ", "), help)
		}
	}
	b.WriteString("\n")
}

// renderRanges writes the operating ranges the /modem page colours values
// against, from the same table the page uses.
func renderRanges(b *bytes.Buffer) {
	b.WriteString("## Operating ranges on the modem page\n\n" +
		"`/modem?target=…` colours each value of the modem's last probe against these usual DOCSIS ranges (rules of thumb " +
		"for a healthy line, not limits: your operator's may differ). An uncorrectable codeword since the previous probe " +
		"is poor, a corrected one marginal. The page never probes the modem itself; it remembers the last probe of the " +
		fmt.Sprintf("%d most recently probed modems whose pages a probe read.\n\n", maxModemPages) +
		"| quantity | good | marginal (outside good) | poor | source |\n|---|---|---|---|---|\n")
	for _, r := range signalRanges {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.Quantity, r.Good(), r.Marginal(), r.Poor(), r.Source)
	}
	b.WriteString("\n")
}

func writeOrCompare(t *testing.T, probeFams, ownFams map[string]*family) {
	var b bytes.Buffer
	b.WriteString("# Metrics reference\n\n<!-- Generated by TestMetricsReferenceIsCurrent (internal/server); do not edit. " +
		"Regenerate with: UPDATE_DOCS=1 go test ./internal/server -run TestMetricsReferenceIsCurrent -->\n\n" +
		"Every row was emitted by a real probe of the simulator in the test that writes this file, so the list cannot drift " +
		"from the code. A device series appears only when the firmware supplies the value; placeholders drop the sample.\n\n")
	render("On /probe", "One fresh registry per probe. The `hitron_channel_*`, `hitron_system_*`, `hitron_traffic_*`, "+
		"`hitron_network_*` and `hitron_cm_bpi_info` families keep the original Python exporter's names and labels. "+
		"`hitron_probe_failure_info` reasons: `bad_credentials`, `session_busy`, `locked_out`, `pin_mismatch`, `tls`, "+
		"`connect`, `timeout`, `http_status`, `bad_response`, `not_logged_in`, `credentials`, `backoff`, `too_large`, `too_many_modems`, "+
		"`modem_error` (`rest`: an `errCode` other than `000` that means no wrong password, busy or lost session).\n\n"+
		"Each data set is probed in its firmware's login dialect: `open` for CODA-45 and CODA-56 (no login, so no "+
		"`credentials` or `login` stage), `rest` for the CODA-4680 (the `/1/Device/` REST API, whose pages map onto the "+
		"same families; the `hitron_event_log_*` and `hitron_docsis_t*_timeouts_total` families come from its `CM/Log`, "+
		"see docs/event-log.md), `cgn` for the others; `coda-userid` (CODA-4582U) is shown serving the "+
		"CGNV4-FX4 pages, as no capture of that model exists. For the `/data/` dialects, the dialect changes how a session "+
		"is opened, not the pages: a family missing for a dialect is missing from that data set's firmware.", probeFams, true, &b)
	render("On /metrics", "The exporter's own metrics (plus the standard `go_*` and `process_*` collectors). Providers "+
		"add their own families (Vault token expiry, FreeIPA ticket expiry, request counts) once configured; see the "+
		"credentials documents.", ownFams, false, &b)
	renderRanges(&b)
	if os.Getenv("UPDATE_DOCS") != "" {
		if err := os.WriteFile(metricsDoc, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(metricsDoc)
	if err != nil || !bytes.Equal(old, b.Bytes()) {
		t.Fatalf("docs/metrics.md is out of date: run UPDATE_DOCS=1 go test ./internal/server -run TestMetricsReferenceIsCurrent")
	}
}

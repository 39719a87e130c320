package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/promenv"
)

// knownMetrics reads testdata/metric-names.txt, the exporter's metric
// names contract.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(dir(t), "testdata", "metric-names.txt"))))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			known[l] = true
		}
	}
	if len(known) < 50 {
		t.Fatalf("metric-names.txt lists only %d names", len(known))
	}
	return known
}

// recordedNames are the series the shipped recording rules produce.
func recordedNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, rf := range loadRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					out[r.Record] = true
				}
			}
		}
	}
	return out
}

var (
	promString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promIdent  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// metricNames returns the exporter (hitron_*, probe_*) and recorded
// (level:metric:ops) metric names a PromQL expression selects. String
// literals (label values) are skipped.
func metricNames(expr string) []string {
	expr = promString.ReplaceAllString(expr, `""`)
	seen := map[string]bool{}
	for _, id := range promIdent.FindAllString(expr, -1) {
		if strings.HasPrefix(id, "hitron_") || strings.HasPrefix(id, "probe_") || strings.Count(id, ":") == 2 {
			seen[id] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`sum by (instance) (rate(hitron_downstream_codewords_uncorrectable_total{job=~"$job", reason="probe_x"}[5m])) / instance:probe_success:avg_over_time1h or probe_success`)
	want := []string{"hitron_downstream_codewords_uncorrectable_total", "instance:probe_success:avg_over_time1h", "probe_success"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
}

// unknownMetrics lists the names in expr that the exporter does not expose
// and no recording rule produces.
func unknownMetrics(expr string, known, recorded map[string]bool) []string {
	var bad []string
	for _, n := range metricNames(expr) {
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] && !recorded[n] {
			bad = append(bad, n)
		}
	}
	return bad
}

func TestRulesUseKnownMetrics(t *testing.T) {
	known, recorded := knownMetrics(t), recordedNames(t)
	for file, rf := range loadRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if bad := unknownMetrics(r.Expr, known, recorded); len(bad) > 0 {
					t.Errorf("%s %s%s uses metrics the exporter does not expose: %v", file, r.Alert, r.Record, bad)
				}
			}
		}
	}
}

// dashboard is the part of the Grafana JSON model these tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Type       string          `json:"type"`
			Name       string          `json:"name"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Multi      bool            `json:"multi"`
			IncludeAll bool            `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds *struct {
				Steps []struct {
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
			Custom struct {
				ThresholdsStyle struct {
					Mode string `json:"mode"`
				} `json:"thresholdsStyle"`
			} `json:"custom"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) (dashboard, []panel) {
	t.Helper()
	raw := readFile(t, filepath.Join(dir(t), "grafana", "hitron-exporter.json"))
	dec := json.NewDecoder(bytes.NewReader(raw))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return d, all
}

func TestDashboardStructure(t *testing.T) {
	d, panels := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a recent one (>= 36, Grafana 9+)", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		q := v.Definition
		if q == "" {
			var s string
			if json.Unmarshal(v.Query, &s) == nil {
				q = s
			}
		}
		vars[v.Name] = v.Type + " " + q
		if v.Name == "target" && (!v.Multi || !v.IncludeAll) {
			t.Error("$target should allow several modems and All")
		}
	}
	for name, want := range map[string]string{
		"datasource": "datasource prometheus",
		"job":        "query label_values(probe_success, job)",
		"target":     `query label_values(probe_success{job=~"$job"}, instance)`,
	} {
		if vars[name] != want {
			t.Errorf("variable %s = %q, want %q", name, vars[name], want)
		}
	}
	ids := map[int]string{}
	for _, p := range panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q must use the $datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q query %s is empty", p.Title, tg.RefID)
			}
		}
	}
}

// TestDashboardCoversTheBrief checks that the panels the deployment brief
// asks for exist: per-channel DS/US power and SNR with reference bands,
// codeword error rates, uptime and reboots, probe and broker health.
func TestDashboardCoversTheBrief(t *testing.T) {
	d, panels := loadDashboard(t)
	byMetric := map[string][]panel{}
	for _, p := range panels {
		for _, tg := range p.Targets {
			for _, n := range metricNames(tg.Expr) {
				byMetric[n] = append(byMetric[n], p)
			}
		}
	}
	banded := func(metric string) {
		for _, p := range byMetric[metric] {
			th := p.FieldConfig.Defaults.Thresholds
			if th != nil && len(th.Steps) >= 3 && strings.Contains(p.FieldConfig.Defaults.Custom.ThresholdsStyle.Mode, "area") {
				return
			}
		}
		t.Errorf("no panel shows %s with reference bands (thresholds drawn as areas)", metric)
	}
	for _, m := range []string{"hitron_downstream_power_dbmv", "hitron_downstream_snr_db", "hitron_upstream_power_dbmv"} {
		banded(m)
	}
	for _, m := range []string{
		"hitron_downstream_codewords_uncorrectable_total", "hitron_downstream_codewords_corrected_total",
		"hitron_downstream_ofdm_codewords_uncorrectable_total", "hitron_uptime_seconds", "probe_success",
		"hitron_probe_failure_info", "hitron_probe_stage_duration_seconds", "hitron_tls_pin_match",
		"hitron_exporter_credential_fetch_errors_total", "hitron_exporter_credential_cache_requests_total",
		"hitron_exporter_vault_token_expiry_timestamp_seconds", "hitron_exporter_freeipa_tgt_expiry_timestamp_seconds",
		"hitron_exporter_logins_total", "hitron_exporter_target_backoff_active",
		"hitron_docsis_t3_timeouts_total", "hitron_docsis_t4_timeouts_total", "hitron_event_log_events_total",
		"hitron_event_log_entries", "hitron_event_log_last_event_timestamp_seconds",
	} {
		if len(byMetric[m]) == 0 {
			t.Errorf("no panel queries %s", m)
		}
	}
	reboots := false
	for _, a := range d.Annotations.List {
		if strings.Contains(a.Expr, "resets(hitron_uptime_seconds") {
			reboots = true
		}
	}
	if !reboots {
		t.Error("no reboot annotation from hitron_uptime_seconds")
	}
	// Channel panels must keep one series per channel and modem.
	for _, p := range byMetric["hitron_downstream_power_dbmv"] {
		for _, tg := range p.Targets {
			if strings.HasPrefix(strings.TrimSpace(tg.Expr), "hitron_downstream_power_dbmv{") && !strings.Contains(tg.Expr, `instance=~"$target"`) {
				t.Errorf("panel %q does not filter on $target", p.Title)
			}
		}
	}
}

// dashboardExprs returns every PromQL expression of the dashboard with
// Grafana's variables replaced by values Prometheus accepts.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	d, panels := loadDashboard(t)
	repl := strings.NewReplacer(
		"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
		"$exporter_job", "hitron-exporter", "$target", ".+", "$job", "hitron",
	)
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`)
	out := map[string]string{}
	for _, p := range panels {
		for _, tg := range p.Targets {
			out[p.Title+"/"+tg.RefID] = repl.Replace(tg.Expr)
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out["annotation "+a.Name] = repl.Replace(a.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			out["variable "+v.Name] = repl.Replace(m[1])
		}
	}
	return out
}

func TestDashboardUsesKnownMetrics(t *testing.T) {
	known, recorded := knownMetrics(t), recordedNames(t)
	for name, expr := range dashboardExprs(t) {
		if bad := unknownMetrics(expr, known, recorded); len(bad) > 0 {
			t.Errorf("%s: %q uses metrics the exporter does not expose: %v", name, expr, bad)
		}
	}
}

// TestDashboardQueriesParse sends every dashboard query to a real
// Prometheus: a syntax or type error comes back as bad_data.
func TestDashboardQueriesParse(t *testing.T) {
	t.Parallel()
	p := promenv.Start(t, "scrape_configs: []")
	ctx := context.Background()
	exprs := dashboardExprs(t)
	if len(exprs) < 30 {
		t.Fatalf("only %d queries found", len(exprs))
	}
	for name, expr := range exprs {
		if _, err := p.Query(ctx, expr); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

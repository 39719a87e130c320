package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/promenv"
)

// scrapeConfigs are the shipped Prometheus configuration files.
var scrapeConfigs = []string{
	"prometheus/prometheus.yml",
	"kubernetes/prometheus-scrape.yml",
	"prometheus/sharding/prometheus-shard.yml",
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtool := tool(t, "promtool", "PROMTOOL", promtoolHint)
	for _, f := range scrapeConfigs {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join(dir(t), f)
			out := run(t, filepath.Dir(path), promtool, "check", "config", filepath.Base(path))
			if !strings.Contains(out, "SUCCESS") {
				t.Errorf("promtool check config %s: no SUCCESS in\n%s", f, out)
			}
		})
	}
}

func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir(t), "prometheus", "*.rules.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files in deploy/prometheus (%v)", err)
	}
	return files
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "promtool", "PROMTOOL", promtoolHint)
	files := ruleFiles(t)
	out := run(t, dir(t), promtool, append([]string{"check", "rules"}, files...)...)
	if strings.Count(out, "SUCCESS") != len(files) {
		t.Errorf("promtool check rules: want %d SUCCESS lines in\n%s", len(files), out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := tool(t, "promtool", "PROMTOOL", promtoolHint)
	tests, err := filepath.Glob(filepath.Join(dir(t), "prometheus", "*_test.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule unit tests in deploy/prometheus (%v)", err)
	}
	out := run(t, filepath.Join(dir(t), "prometheus"), promtool, append([]string{"test", "rules"}, tests...)...)
	if strings.Count(out, "SUCCESS") != len(tests) {
		t.Errorf("promtool test rules: want %d SUCCESS lines in\n%s", len(tests), out)
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string `yaml:"alert"`
			Record string `yaml:"record"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr       string `yaml:"expr"`
			ExpSamples []any  `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func loadRules(t *testing.T) map[string]ruleFile {
	t.Helper()
	out := map[string]ruleFile{}
	for _, f := range ruleFiles(t) {
		var rf ruleFile
		if err := yaml.Unmarshal(readFile(t, f), &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = rf
	}
	return out
}

// TestEveryRuleHasAUnitTest makes sure each alert is shown to fire in a
// promtool unit test and each recording rule's output is checked.
func TestEveryRuleHasAUnitTest(t *testing.T) {
	fired := map[string]bool{}
	checked := map[string]bool{}
	tests, _ := filepath.Glob(filepath.Join(dir(t), "prometheus", "*_test.yml"))
	for _, f := range tests {
		var tf ruleTestFile
		if err := yaml.Unmarshal(readFile(t, f), &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fired[a.Alertname] = true
				}
			}
			for _, e := range tc.PromQLExprTest {
				if len(e.ExpSamples) > 0 {
					checked[strings.TrimSpace(e.Expr)] = true
				}
			}
		}
	}
	n := 0
	for file, rf := range loadRules(t) {
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				n++
				switch {
				case r.Alert != "" && !fired[r.Alert]:
					t.Errorf("%s: alert %s is never shown to fire in a *_test.yml", file, r.Alert)
				case r.Record != "" && !checked[r.Record]:
					t.Errorf("%s: recording rule %s has no promql_expr_test", file, r.Record)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules found")
	}
}

// TestShippedScrapeConfigWithRealPrometheus runs deploy/prometheus's
// "hitron" job, relabeling untouched, in a real Prometheus against a
// loopback stand-in for the exporter's /probe, with the shipped rule files
// loaded: every target becomes ?target= and instance, and every rule
// evaluates without error. The end-to-end test with the real exporter and
// the modem simulator lives with the exporter's own tests.
func TestShippedScrapeConfigWithRealPrometheus(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	probed := map[string]int{}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/probe" {
			http.NotFound(w, r)
			return
		}
		target := r.URL.Query().Get("target")
		mu.Lock()
		probed[target]++
		mu.Unlock()
		if r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds") == "" {
			http.Error(w, "no scrape timeout header", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "# TYPE probe_success gauge\nprobe_success 1\n# TYPE hitron_downstream_power_dbmv gauge\nhitron_downstream_power_dbmv{port=\"1\",channel=\"9\"} 16.7\n")
	}))
	t.Cleanup(fake.Close)
	exporter := strings.TrimPrefix(fake.URL, "http://")

	promDir := filepath.Join(dir(t), "prometheus")
	targets := []string{"192.0.2.1", "https://192.0.2.2:8443"}
	cfg, err := promenv.RetargetJob(readFile(t, filepath.Join(promDir, "prometheus.yml")), "hitron", targets, exporter)
	if err != nil {
		t.Fatal(err)
	}
	p := promenv.Start(t, cfg, promenv.WithBaseDir(promDir))

	query := `hitron_downstream_power_dbmv{job="hitron"}`
	got := p.WaitForSeries(t, query, 30*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < len(targets) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if got, err = p.Query(context.Background(), query); err != nil {
			t.Fatal(err)
		}
	}
	var instances []string
	for _, s := range got {
		instances = append(instances, s.Metric["instance"])
		if s.Metric["channel"] != "9" || s.Value != 16.7 {
			t.Errorf("series %v = %v, want channel 9 at 16.7", s.Metric, s.Value)
		}
		if _, ok := s.Metric["__param_target"]; ok {
			t.Errorf("series %v keeps __param_target", s.Metric)
		}
	}
	sort.Strings(instances)
	if strings.Join(instances, ",") != "192.0.2.1,https://192.0.2.2:8443" {
		t.Errorf("instances = %v, want %v", instances, targets)
	}
	mu.Lock()
	for _, tg := range targets {
		if probed[tg] == 0 {
			t.Errorf("exporter was never asked for target %q (got %v)", tg, probed)
		}
	}
	mu.Unlock()

	// The recording rules run on the scraped series; every rule is healthy.
	p.WaitForSeries(t, `instance:hitron_downstream_power_dbmv:max{instance="192.0.2.1"}`, 15*time.Second)
	raw, err := p.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule %s/%s: %s", g.Name, r.Name, r.LastError)
			}
		}
	}
	want := 0
	for _, rf := range loadRules(t) {
		for _, g := range rf.Groups {
			want += len(g.Rules)
		}
	}
	if n != want {
		t.Errorf("Prometheus loaded %d rules, the rule files hold %d", n, want)
	}
}

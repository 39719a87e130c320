package promenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// metricsServer serves a tiny exposition on loopback.
func metricsServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStartScrapesLoopbackServer(t *testing.T) {
	t.Parallel()
	srv := metricsServer(t, "# TYPE promenv_test_metric gauge\npromenv_test_metric{color=\"blue\"} 42\n")
	host := strings.TrimPrefix(srv.URL, "http://")

	p := Start(t, fmt.Sprintf(`
job_name: loopback
scrape_interval: 5m   # forced down to the test interval
scrape_timeout: 2m
static_configs:
  - targets: [%q]
`, host))

	got := p.WaitForSeries(t, `promenv_test_metric{job="loopback"}`, 20*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d series, want 1: %+v", len(got), got)
	}
	s := got[0]
	if s.Value != 42 {
		t.Errorf("value = %v, want 42", s.Value)
	}
	want := map[string]string{"__name__": "promenv_test_metric", "color": "blue", "instance": host, "job": "loopback"}
	for k, v := range want {
		if s.Metric[k] != v {
			t.Errorf("label %s = %q, want %q (all: %v)", k, s.Metric[k], v, s.Metric)
		}
	}
	if d := time.Since(s.Time); d < -time.Minute || d > time.Minute {
		t.Errorf("sample time %v is not about now", s.Time)
	}

	// Prometheus's own up series for the target shows a healthy scrape.
	up, err := p.Query(context.Background(), `up{job="loopback"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != 1 || up[0].Value != 1 {
		t.Errorf("up = %+v, want one series with value 1", up)
	}
	ts, err := p.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Health != "up" || ts[0].ScrapeURL != srv.URL+"/metrics" {
		t.Errorf("targets = %+v, want one healthy target at %s/metrics", ts, srv.URL)
	}
}

func TestQueryReportsBadPromQL(t *testing.T) {
	t.Parallel()
	p := Start(t, `scrape_configs: []`)
	_, err := p.Query(context.Background(), `sum(`)
	if err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Fatalf("Query(sum() error = %v, want a bad_data error", err)
	}
	got, err := p.Query(context.Background(), `1 + 1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != 2 {
		t.Errorf("1 + 1 = %+v, want one sample of 2", got)
	}
}

// TestRetargetJobMultiTarget runs the multi-target relabeling for real: a
// loopback stand-in for the exporter answers /probe with a metric naming the
// target it was asked for, and the series must carry instance=<target>.
func TestRetargetJobMultiTarget(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]bool{}
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/probe" {
			http.NotFound(w, r)
			return
		}
		target := r.URL.Query().Get("target")
		mu.Lock()
		seen[target] = true
		mu.Unlock()
		fmt.Fprintf(w, "probe_success 1\nprobed_target_info{target=%q} 1\n", target)
	}))
	t.Cleanup(probe.Close)
	exporter := strings.TrimPrefix(probe.URL, "http://")

	shipped := `
global: {scrape_interval: 1m}
scrape_configs:
  - job_name: other
    static_configs: [{targets: ["127.0.0.1:1"]}]
  - job_name: hitron
    metrics_path: /probe
    params: {auth: [lab]}
    file_sd_configs: [{files: [/nonexistent/*.yml]}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: hitron-exporter:9938
`
	cfg, err := RetargetJob([]byte(shipped), "hitron", []string{"modem-a.test", "modem-b.test:8443"}, exporter)
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, cfg)
	got := p.WaitForSeries(t, `count by (instance) (probe_success{job="hitron"})`, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if got, err = p.Query(context.Background(), `count by (instance) (probe_success{job="hitron"})`); err != nil {
			t.Fatal(err)
		}
	}
	instances := map[string]bool{}
	for _, s := range got {
		instances[s.Metric["instance"]] = true
	}
	for _, want := range []string{"modem-a.test", "modem-b.test:8443"} {
		if !instances[want] {
			t.Errorf("no probe_success series with instance=%q; got %v", want, instances)
		}
	}
	ts, err := p.Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		u, err := url.Parse(tg.ScrapeURL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != exporter || u.Path != "/probe" || u.Query().Get("auth") != "lab" {
			t.Errorf("scrape URL %s: want host %s, path /probe and auth=lab", tg.ScrapeURL, exporter)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !seen["modem-a.test"] || !seen["modem-b.test:8443"] {
		t.Errorf("exporter saw targets %v", seen)
	}
}

func TestRetargetJobErrors(t *testing.T) {
	tests := []struct {
		name, config, job, want string
	}{
		{"missing job", "scrape_configs: [{job_name: a}]", "b", `no scrape job "b"`},
		{"no address rule", "scrape_configs: [{job_name: a, relabel_configs: [{target_label: instance}]}]", "a", "no relabel rule"},
		{"bad yaml", "scrape_configs: [", "a", "parse config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RetargetJob([]byte(tc.config), tc.job, []string{"x"}, "127.0.0.1:1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
		check   func(t *testing.T, cfg map[string]any)
	}{
		{
			name:   "single job",
			config: "job_name: a\nstatic_configs: [{targets: [x]}]",
			check: func(t *testing.T, cfg map[string]any) {
				jobs := cfg["scrape_configs"].([]any)
				if len(jobs) != 1 || jobs[0].(map[string]any)["scrape_interval"] != "2s" {
					t.Errorf("scrape_configs = %v", jobs)
				}
			},
		},
		{
			name:   "list of jobs",
			config: "- job_name: a\n- job_name: b\n  scrape_timeout: 1s\n- job_name: c\n  scrape_timeout: 1m",
			check: func(t *testing.T, cfg map[string]any) {
				jobs := cfg["scrape_configs"].([]any)
				if len(jobs) != 3 {
					t.Fatalf("got %d jobs", len(jobs))
				}
				if got := jobs[1].(map[string]any)["scrape_timeout"]; got != "1s" {
					t.Errorf("short timeout changed to %v", got)
				}
				if got := jobs[2].(map[string]any)["scrape_timeout"]; got != "2s" {
					t.Errorf("long timeout = %v, want clamped to 2s", got)
				}
			},
		},
		{
			name:   "full config keeps other sections and resolves rule files",
			config: "global: {scrape_interval: 1d, external_labels: {site: lab}}\nrule_files: [rules/*.yml, /abs/r.yml]\nscrape_configs: []",
			check: func(t *testing.T, cfg map[string]any) {
				g := cfg["global"].(map[string]any)
				if g["scrape_interval"] != "2s" || g["evaluation_interval"] != "2s" || g["scrape_timeout"] != "2s" {
					t.Errorf("global = %v", g)
				}
				if g["external_labels"].(map[string]any)["site"] != "lab" {
					t.Errorf("external_labels lost: %v", g)
				}
				rf := cfg["rule_files"].([]any)
				if rf[0] != filepath.Join("/base", "rules/*.yml") || rf[1] != "/abs/r.yml" {
					t.Errorf("rule_files = %v", rf)
				}
			},
		},
		{name: "scalar", config: "42", wantErr: "want a mapping"},
		{name: "bad job", config: "scrape_configs: [1]", wantErr: "scrape_configs[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Normalize([]byte(tc.config), 2*time.Second, "/base")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := yaml.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

// fatalTB records Fatalf instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Helper() {}

func TestStartFailsWithInstallHintWhenBinaryMissing(t *testing.T) {
	t.Setenv("PROMETHEUS_BIN", filepath.Join(t.TempDir(), "no-prometheus-here"))
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f, "scrape_configs: []")
		t.Error("Start returned without failing")
	}()
	<-done
	if !strings.Contains(f.msg, "apt-get install") || !strings.Contains(f.msg, "prometheus") {
		t.Errorf("failure message %q does not name the Debian package", f.msg)
	}
}

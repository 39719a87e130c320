// Package promenv starts a real Prometheus server for tests.
//
// It runs the prometheus binary from Debian's "prometheus" package (or the
// one named by $PROMETHEUS_BIN) on a free 127.0.0.1 port with its data in
// t.TempDir(), forces a short scrape and evaluation interval so series show
// up within seconds, and offers a small client for the HTTP query API. The
// server is stopped when the test ends. A missing binary fails the test; it
// never skips.
package promenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// InstallHint names the setup step that provides the prometheus binary.
const InstallHint = "install Debian's prometheus package: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus (done by .ci/run), or set PROMETHEUS_BIN"

// DefaultInterval is the scrape and rule evaluation interval Start forces
// unless WithInterval says otherwise.
const DefaultInterval = time.Second

// Server is a running Prometheus started by Start.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:40123".
	URL string
	// Dir holds prometheus.yml, the TSDB and prometheus.log.
	Dir string
	// Config is the configuration file Prometheus was started with.
	Config string

	tb      testing.TB
	cmd     *exec.Cmd
	logPath string
	client  *http.Client
	exited  chan struct{}
}

// Option changes how Start runs Prometheus.
type Option func(*options)

type options struct {
	interval     time.Duration
	baseDir      string
	readyTimeout time.Duration
}

// WithInterval sets the scrape and evaluation interval forced on the global
// section and on every scrape job (default DefaultInterval).
func WithInterval(d time.Duration) Option {
	return func(o *options) { o.interval = d }
}

// WithBaseDir resolves relative rule_files entries against dir instead of
// the temporary directory that holds the generated prometheus.yml.
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// WithReadyTimeout bounds the wait for /-/ready (default 30s).
func WithReadyTimeout(d time.Duration) Option {
	return func(o *options) { o.readyTimeout = d }
}

// Start runs Prometheus with config and returns once /-/ready answers 200.
//
// config is YAML in one of three shapes: a complete Prometheus configuration
// (a mapping with scrape_configs), a list of scrape jobs, or a single scrape
// job (a mapping with job_name). Start sets global.scrape_interval,
// global.evaluation_interval and every job's scrape_interval to the test
// interval, and clamps scrape_timeout to it, so that a production config can
// be used unchanged. The server is stopped by t.Cleanup.
func Start(tb testing.TB, config string, opts ...Option) *Server {
	tb.Helper()
	o := options{interval: DefaultInterval, readyTimeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	bin := os.Getenv("PROMETHEUS_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("prometheus"); err != nil {
			tb.Fatalf("promenv: prometheus binary not found in PATH (%v): %s", err, InstallHint)
		}
	} else if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("promenv: PROMETHEUS_BIN=%q: %v: %s", bin, err, InstallHint)
	}

	dir := tb.TempDir()
	base := o.baseDir
	if base == "" {
		base = dir
	}
	rendered, err := Normalize([]byte(config), o.interval, base)
	if err != nil {
		tb.Fatalf("promenv: %v", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, rendered, 0o600); err != nil {
		tb.Fatalf("promenv: write config: %v", err)
	}

	// The free port is found by binding and releasing it; another process can
	// take it in between, so retry a few times on "address already in use".
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(tb, bin, dir, cfgPath, o.readyTimeout)
		if err == nil {
			s.Config = string(rendered)
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	tb.Fatalf("promenv: %v", lastErr)
	return nil
}

var errAddrInUse = errors.New("address already in use")

func start(tb testing.TB, bin, dir, cfgPath string, readyTimeout time.Duration) (*Server, error) {
	tb.Helper()
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dataDir := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr,
		"--web.enable-lifecycle",
		"--log.level=info",
	)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		URL:     "http://" + addr,
		Dir:     dir,
		tb:      tb,
		cmd:     cmd,
		logPath: logPath,
		client:  &http.Client{Timeout: 10 * time.Second},
		exited:  make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(s.stop)

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		logText := s.Log()
		if strings.Contains(logText, "address already in use") {
			return nil, fmt.Errorf("listen on %s: %w", addr, errAddrInUse)
		}
		return nil, fmt.Errorf("prometheus on %s not ready: %w\n--- prometheus.log ---\n%s", addr, err, tail(logText, 4000))
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited early (%v)", s.cmd.ProcessState)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if err != nil {
			return fmt.Errorf("build ready request: %w", err)
		}
		if resp, err := s.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for /-/ready: %w", ctx.Err())
		case <-s.exited:
			return fmt.Errorf("prometheus exited early (%v)", s.cmd.ProcessState)
		case <-tick.C:
		}
	}
}

// stop terminates the server (SIGTERM, then SIGKILL after 10s) and, when the
// test failed, logs the end of prometheus.log.
func (s *Server) stop() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	}
	if s.tb.Failed() {
		s.tb.Logf("promenv: end of %s:\n%s", s.logPath, tail(s.Log(), 4000))
	}
}

// Log returns Prometheus's log output so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", s.logPath, err)
	}
	return string(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Sample is one element of an instant query's result.
type Sample struct {
	// Metric holds the series labels, including __name__ when present.
	Metric map[string]string
	// Value is the sample value.
	Value float64
	// Time is the evaluation timestamp.
	Time time.Time
}

// Query evaluates promql as an instant query at the current time through
// /api/v1/query and returns the vector (a scalar becomes one unlabelled
// sample).
func (s *Server) Query(ctx context.Context, promql string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.api(ctx, "/api/v1/query", url.Values{"query": {promql}}, &data); err != nil {
		return nil, fmt.Errorf("query %q: %w", promql, err)
	}
	switch data.ResultType {
	case "vector":
		var raw []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &raw); err != nil {
			return nil, fmt.Errorf("query %q: decode vector: %w", promql, err)
		}
		out := make([]Sample, 0, len(raw))
		for _, r := range raw {
			smp, err := sampleFrom(r.Metric, r.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", promql, err)
			}
			out = append(out, smp)
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %q: decode scalar: %w", promql, err)
		}
		smp, err := sampleFrom(map[string]string{}, v)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", promql, err)
		}
		return []Sample{smp}, nil
	default:
		return nil, fmt.Errorf("query %q: unsupported result type %q", promql, data.ResultType)
	}
}

func sampleFrom(metric map[string]string, v [2]any) (Sample, error) {
	ts, ok := v[0].(float64)
	if !ok {
		return Sample{}, fmt.Errorf("bad sample timestamp %v", v[0])
	}
	str, ok := v[1].(string)
	if !ok {
		return Sample{}, fmt.Errorf("bad sample value %v", v[1])
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("parse sample value %q: %w", str, err)
	}
	sec := int64(ts)
	return Sample{Metric: metric, Value: f, Time: time.Unix(sec, int64((ts-float64(sec))*1e9))}, nil
}

// WaitForSeries polls promql every 200ms until it returns at least one
// sample and returns them; it fails the test after timeout, reporting the
// scrape targets' health and last errors.
func (s *Server) WaitForSeries(tb testing.TB, promql string, timeout time.Duration) []Sample {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lastErr error
	for {
		res, err := s.Query(ctx, promql)
		if err == nil && len(res) > 0 {
			return res
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("promenv: %q returned no series within %v (last error: %v)\ntargets:\n%s", promql, timeout, lastErr, s.describeTargets())
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Target is one active scrape target as reported by /api/v1/targets.
type Target struct {
	// ScrapePool is the job name.
	ScrapePool string `json:"scrapePool"`
	// ScrapeURL is the URL Prometheus scrapes, after relabeling.
	ScrapeURL string `json:"scrapeUrl"`
	// Labels are the target labels after relabeling.
	Labels map[string]string `json:"labels"`
	// DiscoveredLabels are the labels before relabeling.
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	// Health is "up", "down" or "unknown".
	Health string `json:"health"`
	// LastError is the last scrape error, if any.
	LastError string `json:"lastError"`
}

// Targets returns the active scrape targets.
func (s *Server) Targets(ctx context.Context) ([]Target, error) {
	var data struct {
		ActiveTargets []Target `json:"activeTargets"`
	}
	if err := s.api(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &data); err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	return data.ActiveTargets, nil
}

func (s *Server) describeTargets() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts, err := s.Targets(ctx)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "  %s %s health=%s labels=%v lastError=%q\n", t.ScrapePool, t.ScrapeURL, t.Health, t.Labels, t.LastError)
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
}

// Rules returns the raw data of /api/v1/rules (rule groups with their
// alerting and recording rules and health).
func (s *Server) Rules(ctx context.Context) (json.RawMessage, error) {
	var data json.RawMessage
	if err := s.api(ctx, "/api/v1/rules", nil, &data); err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	return data, nil
}

// api GETs path with params and decodes the "data" member of a successful
// API response into out.
func (s *Server) api(ctx context.Context, path string, params url.Values, out any) error {
	u := s.URL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("decode %s (HTTP %d): %w", path, resp.StatusCode, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: HTTP %d %s: %s", path, resp.StatusCode, env.ErrorType, env.Error)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("decode %s data: %w", path, err)
	}
	return nil
}

// Normalize turns config (a full configuration, a list of scrape jobs or one
// job) into a complete Prometheus configuration with every interval set to
// interval, scrape timeouts clamped to it, and relative rule_files resolved
// against baseDir. It is what Start writes to prometheus.yml.
func Normalize(config []byte, interval time.Duration, baseDir string) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	var full map[string]any
	switch v := doc.(type) {
	case []any:
		full = map[string]any{"scrape_configs": v}
	case map[string]any:
		if _, ok := v["job_name"]; ok {
			full = map[string]any{"scrape_configs": []any{v}}
		} else {
			full = v
		}
	case nil:
		full = map[string]any{}
	default:
		return nil, fmt.Errorf("config is a %T, want a mapping or a list of scrape jobs", doc)
	}
	iv := interval.String()
	global, _ := full["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
	}
	global["scrape_interval"] = iv
	global["evaluation_interval"] = iv
	global["scrape_timeout"] = clampTimeout(global["scrape_timeout"], interval)
	full["global"] = global

	jobs, _ := full["scrape_configs"].([]any)
	for i, j := range jobs {
		job, ok := j.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("scrape_configs[%d] is a %T, want a mapping", i, j)
		}
		job["scrape_interval"] = iv
		if t, ok := job["scrape_timeout"]; ok {
			job["scrape_timeout"] = clampTimeout(t, interval)
		}
	}
	if rf, ok := full["rule_files"].([]any); ok {
		for i, f := range rf {
			p, ok := f.(string)
			if ok && !filepath.IsAbs(p) {
				rf[i] = filepath.Join(baseDir, p)
			}
		}
	}
	out, err := yaml.Marshal(full)
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return out, nil
}

// clampTimeout returns the timeout value t (a Prometheus duration string or
// nil) limited to interval.
func clampTimeout(t any, interval time.Duration) string {
	if s, ok := t.(string); ok {
		if d, err := parsePromDuration(s); err == nil && d > 0 && d <= interval {
			return s
		}
	}
	return interval.String()
}

// parsePromDuration parses the subset of Prometheus durations that Go's
// time.ParseDuration lacks (d, w, y) as well as Go's own forms.
func parsePromDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	units := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if len(s) < 2 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	u, ok := units[s[len(s)-1]]
	if !ok {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: %w", s, err)
	}
	return time.Duration(n) * u, nil
}

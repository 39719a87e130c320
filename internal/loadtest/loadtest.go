// Package loadtest measures the exporter under load: it starts N simulated
// modems on 127.0.0.1, runs the real exporter binary against them, probes
// every modem at a fixed rate, and reports throughput, latency, the
// exporter's CPU time per probe and its peak memory. In the same run it
// times the same HTTP exchanges made directly against the simulators (the
// device limit), so the exporter's overhead is a difference against a
// baseline measured under identical conditions.
package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

// Options configure a run.
type Options struct {
	// Exporter is the path of the hitron-exporter binary.
	Exporter string
	// Modems is how many simulated modems to start.
	Modems int
	// Interval is how often each modem is probed (Prometheus' scrape interval).
	Interval time.Duration
	// Duration of the measured run.
	Duration time.Duration
	// Latency the simulated modems add to each request.
	Latency time.Duration
	// DataSet served by the modems.
	DataSet string
	// Dialect is the modems' login dialect (cgn, open, coda-userid; "" is
	// cgn), which the exporter's targets: entries name too.
	Dialect string
	// ExporterEnv is added to the exporter's environment (e.g. GOMAXPROCS=1).
	ExporterEnv []string
	// RawWorker is the command that runs RawWorker in its own process (the
	// baseline); its arguments must carry the fingerprint, password and
	// schedule, see RawWorkerArgs.
	RawWorker func(RawWorkerOptions) []string
	// IdleWindow is how long the exporter's idle CPU is measured before the
	// run; zero means 10 s.
	IdleWindow time.Duration
	// Log receives progress lines.
	Log io.Writer
}

// Report holds the figures of one run.
type Report struct {
	Modems         int
	Probes         int
	Failures       int
	Elapsed        time.Duration
	ProbesPerSec   float64
	P50, P99       time.Duration
	RawP50, RawP99 time.Duration
	// RawCPUPerProbe is the baseline worker's CPU time per exchange: the
	// cost of the device's API to the cheapest client, measured in the same
	// run on the same schedule.
	RawCPUPerProbe time.Duration
	RawFailures    int
	CPUPerProbe    time.Duration
	CPUShareOfCore float64
	// IdleCPUShare is the exporter's CPU share while not probing (timers,
	// GC, scheduler), measured before the run; CPUPerProbeNet subtracts it.
	IdleCPUShare   float64
	CPUPerProbeNet time.Duration
	PeakRSSBytes   int64
}

// String formats the report.
func (r Report) String() string {
	ratio := 0.0
	if r.RawCPUPerProbe > 0 {
		ratio = float64(r.CPUPerProbe) / float64(r.RawCPUPerProbe)
	}
	return fmt.Sprintf("modems=%d probes=%d failures=%d rate=%.1f/s p50=%s p99=%s raw_p50=%s raw_p99=%s raw_failures=%d overhead_p50=%s cpu_per_probe=%s (net of idle %s) raw_cpu_per_probe=%s cpu_ratio=%.2f cpu_share_of_one_core=%.2f%% (idle %.2f%%) peak_rss=%.1fMiB",
		r.Modems, r.Probes, r.Failures, r.ProbesPerSec, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond),
		r.RawP50.Round(time.Microsecond), r.RawP99.Round(time.Microsecond), r.RawFailures, (r.P50 - r.RawP50).Round(time.Microsecond),
		r.CPUPerProbe.Round(time.Microsecond), r.CPUPerProbeNet.Round(time.Microsecond), r.RawCPUPerProbe.Round(time.Microsecond), ratio,
		r.CPUShareOfCore*100, r.IdleCPUShare*100, float64(r.PeakRSSBytes)/(1<<20))
}

// exporterPackage is the import path of the exporter's command.
const exporterPackage = "github.com/hitron-exporter/hitron-exporter/cmd/hitron-exporter"

// BuildExporter builds the exporter binary from the tree into path; the
// compiler's output goes to log.
func BuildExporter(path string, log io.Writer) error {
	build := exec.Command("go", "build", "-o", path, exporterPackage)
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		return fmt.Errorf("build %s: %w", exporterPackage, err)
	}
	return nil
}

// simPassword is the simulated modems' admin password.
const simPassword = "load-test"

// Run performs one measurement.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := Report{Modems: o.Modems}
	cert, err := modemsim.GenerateCertificate()
	if err != nil {
		return rep, err
	}
	fp := pin.Of(cert.Certificate[0])
	sims := make([]*modemsim.Simulator, 0, o.Modems)
	defer func() {
		for _, s := range sims {
			_ = s.Close()
		}
	}()
	for i := 0; i < o.Modems; i++ {
		s, err := modemsim.New(modemsim.Config{Password: simPassword, Certificate: &cert, DataSet: o.DataSet, Latency: o.Latency, SessionIdle: time.Minute,
			Dialect: o.Dialect})
		if err != nil {
			return rep, err
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			return rep, err
		}
		sims = append(sims, s)
	}
	fmt.Fprintf(o.Log, "started %d simulated modems\n", len(sims))

	dir, err := os.MkdirTemp("", "hitron-loadtest-")
	if err != nil {
		return rep, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cfg := buildConfig(dir, sims, fp, o.Dialect)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		return rep, err
	}
	addr, err := freeAddr()
	if err != nil {
		return rep, err
	}
	cmd := exec.CommandContext(ctx, o.Exporter, "--config.file="+filepath.Join(dir, "config.yml"), "--web.listen-address="+addr, "--log.level=error")
	cmd.Stderr = o.Log
	cmd.Env = append(os.Environ(), o.ExporterEnv...)
	if err := cmd.Start(); err != nil {
		return rep, fmt.Errorf("start exporter: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitUp("http://" + addr + "/-/healthy"); err != nil {
		return rep, err
	}

	// Raw baseline: the same exchanges straight at the simulators, from a
	// process of its own, on the same schedule.
	if o.RawWorker != nil {
		addrs := make([]string, len(sims))
		for i, s := range sims {
			addrs[i] = s.Addr()
		}
		res, cpu, err := runRawWorker(ctx, o.RawWorker(RawWorkerOptions{Fingerprint: fp, Password: simPassword, Interval: o.Interval, Duration: o.Duration,
			Dialect: o.Dialect}), addrs)
		if err != nil {
			return rep, err
		}
		raw := res.Latencies
		sort.Slice(raw, func(i, j int) bool { return raw[i] < raw[j] })
		rep.RawP50, rep.RawP99, rep.RawFailures = percentile(raw, 0.50), percentile(raw, 0.99), res.Failures
		if len(raw) > 0 {
			rep.RawCPUPerProbe = cpu / time.Duration(len(raw))
		}
		fmt.Fprintf(o.Log, "raw baseline: %d exchanges, %d failures\n", len(raw), res.Failures)
	}

	// Warm up, as an exporter that has run for a while is: one probe of
	// every modem (the first one makes a full TLS handshake).
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	if _, failed := drive(ctx, client, "http://"+addr, sims, o.Interval, o.Interval); failed > 0 {
		fmt.Fprintf(o.Log, "warm-up: %d probes failed\n", failed)
	}
	idleWindow := o.IdleWindow
	if idleWindow <= 0 {
		idleWindow = 10 * time.Second
	}
	idleStart, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return rep, err
	}
	time.Sleep(idleWindow)
	cpuBefore, _ := cpuTime(cmd.Process.Pid)
	rep.IdleCPUShare = (cpuBefore - idleStart).Seconds() / idleWindow.Seconds()
	lat, failures := drive(ctx, client, "http://"+addr, sims, o.Interval, o.Duration)
	cpuAfter, _ := cpuTime(cmd.Process.Pid)
	rep.Probes, rep.Failures = len(lat), failures
	rep.Elapsed = o.Duration
	rep.ProbesPerSec = float64(len(lat)) / o.Duration.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.P50, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		rep.CPUPerProbe = (cpuAfter - cpuBefore) / time.Duration(len(lat))
		idle := time.Duration(rep.IdleCPUShare * float64(o.Duration))
		rep.CPUPerProbeNet = max(cpuAfter-cpuBefore-idle, 0) / time.Duration(len(lat))
	}
	rep.CPUShareOfCore = (cpuAfter - cpuBefore).Seconds() / o.Duration.Seconds()
	rep.PeakRSSBytes, _ = peakRSS(cmd.Process.Pid)
	return rep, nil
}

func buildConfig(dir string, sims []*modemsim.Simulator, fp pin.Fingerprint, dialect string) string {
	var b strings.Builder
	creds := filepath.Join(dir, "credentials.yml")
	_ = os.WriteFile(creds, []byte("username: admin\npassword: "+simPassword+"\n"), 0o600)
	fmt.Fprintf(&b, "auths:\n  default:\n    file:\n      path: %s\ntargets:\n", creds)
	for _, s := range sims {
		fmt.Fprintf(&b, "  %q:\n    fingerprint: %q\n", s.Addr(), fp.String())
		if dialect != "" {
			fmt.Fprintf(&b, "    dialect: %s\n", dialect)
		}
	}
	return b.String()
}

// drive probes every modem once per interval, spread evenly, for the
// given duration, and returns the probe latencies and the failure count.
func drive(ctx context.Context, client *http.Client, base string, sims []*modemsim.Simulator, interval, duration time.Duration) ([]time.Duration, int) {
	return paced(ctx, len(sims), interval, duration, func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?target="+url.QueryEscape(sims[i].Addr()), nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
		req.Header.Set("Accept", prometheusAccept)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte("\nprobe_success 1\n")) {
			return fmt.Errorf("probe of %s failed", sims[i].Addr())
		}
		return nil
	})
}

// prometheusAccept is the Accept header Prometheus 2 sends with a scrape.
const prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// paced calls probe for modem i%n once every interval/n, each call on its
// own goroutine, for the given duration, and returns the latencies of the
// calls that succeeded and how many failed.
func paced(ctx context.Context, n int, interval, duration time.Duration, probe func(ctx context.Context, i int) error) ([]time.Duration, int) {
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures atomic.Int32
		wg       sync.WaitGroup
	)
	tick := time.NewTicker(interval / time.Duration(n))
	defer tick.Stop()
	deadline := time.Now().Add(duration)
	for i := 0; time.Now().Before(deadline); i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return lat, int(failures.Load())
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if err := probe(ctx, i%n); err != nil {
				failures.Add(1)
				return
			}
			d := time.Since(start)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, int(failures.Load())
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

func waitUp(u string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			_ = resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("exporter at %s did not start", u)
}

// cpuTime reads a process's user+system CPU time from /proc.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read /proc: %w", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 (1-based) of the whole line.
	s := string(raw)
	rest := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(rest) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	ut, _ := strconv.ParseInt(rest[11], 10, 64)
	st, _ := strconv.ParseInt(rest[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// peakRSS reads VmHWM from /proc.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

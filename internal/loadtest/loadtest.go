// Package loadtest measures the exporter under load: it starts N simulated
// modems on 127.0.0.1, runs the real exporter binary against them, probes
// every modem at a fixed rate, and reports throughput, latency, the
// exporter's CPU time per probe and its peak memory. In the same run it
// times the same HTTP exchanges made directly against the simulators (the
// device limit), so the exporter's overhead is a difference against a
// baseline measured under identical conditions.
package loadtest

import (
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
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
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
	// LatencyTail adds a long-tailed delay per request (modem i draws from
	// a generator seeded with i+1, so a run is reproducible).
	LatencyTail modemsim.LongTail
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
	// Goroutines and HeapInuseBytes: the exporter's means over the measured
	// window, sampled from its /metrics once a second, and before the run
	// (Idle…). InFlight is the mean number of probes in flight (Little's
	// law: rate × mean latency); the per-probe figures divide the growth by
	// it.
	Goroutines, IdleGoroutines         float64
	HeapInuseBytes, IdleHeapInuseBytes float64
	InFlight                           float64
}

// GoroutinesPerProbe is how many more goroutines the exporter ran per
// probe in flight than when idle.
func (r Report) GoroutinesPerProbe() float64 {
	if r.InFlight <= 0 {
		return 0
	}
	return (r.Goroutines - r.IdleGoroutines) / r.InFlight
}

// HeapPerProbe is how much more heap the exporter had in use per probe in
// flight than when idle.
func (r Report) HeapPerProbe() float64 {
	if r.InFlight <= 0 {
		return 0
	}
	return (r.HeapInuseBytes - r.IdleHeapInuseBytes) / r.InFlight
}

// String formats the report.
func (r Report) String() string {
	ratio := 0.0
	if r.RawCPUPerProbe > 0 {
		ratio = float64(r.CPUPerProbe) / float64(r.RawCPUPerProbe)
	}
	return fmt.Sprintf("modems=%d probes=%d failures=%d rate=%.1f/s p50=%s p99=%s raw_p50=%s raw_p99=%s raw_failures=%d overhead_p50=%s overhead_p99=%s cpu_per_probe=%s (net of idle %s) raw_cpu_per_probe=%s cpu_ratio=%.2f cpu_share_of_one_core=%.2f%% (idle %.2f%%) peak_rss=%.1fMiB in_flight=%.1f goroutines=%.0f (idle %.0f, %.2f per probe in flight) heap_inuse=%.1fMiB (idle %.1fMiB, %.1fKiB per probe in flight)",
		r.Modems, r.Probes, r.Failures, r.ProbesPerSec, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond),
		r.RawP50.Round(time.Microsecond), r.RawP99.Round(time.Microsecond), r.RawFailures, (r.P50 - r.RawP50).Round(time.Microsecond), (r.P99 - r.RawP99).Round(time.Microsecond),
		r.CPUPerProbe.Round(time.Microsecond), r.CPUPerProbeNet.Round(time.Microsecond), r.RawCPUPerProbe.Round(time.Microsecond), ratio,
		r.CPUShareOfCore*100, r.IdleCPUShare*100, float64(r.PeakRSSBytes)/(1<<20),
		r.InFlight, r.Goroutines, r.IdleGoroutines, r.GoroutinesPerProbe(), r.HeapInuseBytes/(1<<20), r.IdleHeapInuseBytes/(1<<20), r.HeapPerProbe()/1024)
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
	sims, fp, err := startModems(o.Modems, o.Latency, o.LatencyTail, o.DataSet, o.Dialect)
	defer closeModems(sims)
	if err != nil {
		return rep, err
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
	addr, err := testkit.FreeAddr()
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
	if g, h, err := runtimeFigures(client, "http://"+addr+"/metrics"); err == nil {
		rep.IdleGoroutines, rep.IdleHeapInuseBytes = g, h
	}
	cpuBefore, _ := cpuTime(cmd.Process.Pid)
	rep.IdleCPUShare = (cpuBefore - idleStart).Seconds() / idleWindow.Seconds()
	sampled := make(chan [3]float64, 1)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go func() { sampled <- sampleRuntime(sampleCtx, client, "http://"+addr+"/metrics") }()
	lat, failures := drive(ctx, client, "http://"+addr, sims, o.Interval, o.Duration)
	cpuAfter, _ := cpuTime(cmd.Process.Pid)
	stopSampling()
	if s := <-sampled; s[2] > 0 {
		rep.Goroutines, rep.HeapInuseBytes = s[0]/s[2], s[1]/s[2]
	}
	rep.Probes, rep.Failures = len(lat), failures
	rep.Elapsed = o.Duration
	rep.ProbesPerSec = float64(len(lat)) / o.Duration.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.P50, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		rep.CPUPerProbe = (cpuAfter - cpuBefore) / time.Duration(len(lat))
		idle := time.Duration(rep.IdleCPUShare * float64(o.Duration))
		rep.CPUPerProbeNet = max(cpuAfter-cpuBefore-idle, 0) / time.Duration(len(lat))
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		rep.InFlight = rep.ProbesPerSec * (sum / time.Duration(len(lat))).Seconds()
	}
	rep.CPUShareOfCore = (cpuAfter - cpuBefore).Seconds() / o.Duration.Seconds()
	rep.PeakRSSBytes, _ = peakRSS(cmd.Process.Pid)
	return rep, nil
}

// startModems starts n simulated modems sharing one certificate, modem i
// with the latency tail seeded i+1, spread over loopback addresses
// (ModemHost), speaking dialect ("" is cgn). On an error it returns those it started, for closeModems.
func startModems(n int, latency time.Duration, tail modemsim.LongTail, dataSet, dialect string) ([]*modemsim.Simulator, pin.Fingerprint, error) {
	cert, err := modemsim.GenerateCertificate()
	if err != nil {
		return nil, pin.Fingerprint{}, err
	}
	fp := pin.Of(cert.Certificate[0])
	sims := make([]*modemsim.Simulator, 0, n)
	for i := 0; i < n; i++ {
		t := tail
		t.Seed = uint64(i) + 1
		s, err := modemsim.New(modemsim.Config{Password: simPassword, Certificate: &cert, DataSet: dataSet, Latency: latency, LatencyTail: t, SessionIdle: time.Minute, Dialect: dialect})
		if err != nil {
			return sims, fp, err
		}
		if err := s.Start(net.JoinHostPort(ModemHost(i, n), "0")); err != nil {
			return sims, fp, err
		}
		sims = append(sims, s)
	}
	return sims, fp, nil
}

func closeModems(sims []*modemsim.Simulator) {
	for _, s := range sims {
		_ = s.Close()
	}
}

// modemsPerHost is how many simulated modems share one loopback address
// in a large run, so the exporter's and the worker's connections (each
// probe's connection spends a minute in TIME_WAIT) do not run out of
// ephemeral ports towards one address.
const modemsPerHost = 500

// ModemHost is the loopback address modem i of n listens on: 127.0.0.1 up
// to modemsPerHost modems, then 127.0.1.1, 127.0.1.2, … with modemsPerHost
// each.
func ModemHost(i, n int) string {
	if n <= modemsPerHost {
		return "127.0.0.1"
	}
	h := i / modemsPerHost
	return fmt.Sprintf("127.0.%d.%d", 1+h/250, 1+h%250)
}

// sampleRuntime reads the exporter's goroutines and heap in use once a
// second until ctx ends, and returns their sums and the sample count.
func sampleRuntime(ctx context.Context, client *http.Client, u string) [3]float64 {
	var sum [3]float64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return sum
		case <-t.C:
		}
		if g, h, err := runtimeFigures(client, u); err == nil {
			sum[0] += g
			sum[1] += h
			sum[2]++
		}
	}
}

// runtimeFigures reads go_goroutines and go_memstats_heap_inuse_bytes from
// the exporter's /metrics.
func runtimeFigures(client *http.Client, u string) (goroutines, heapInuse float64, err error) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			goroutines, err = strconv.ParseFloat(value, 64)
			found++
		case "go_memstats_heap_inuse_bytes":
			heapInuse, err = strconv.ParseFloat(value, 64)
			found++
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%s: no go_goroutines or go_memstats_heap_inuse_bytes", u)
	}
	return goroutines, heapInuse, nil
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
		return probeOnce(ctx, client, base+"/probe?target="+url.QueryEscape(sims[i].Addr()), "\nprobe_success 1\n")
	})
}

// prometheusAccept is the Accept header Prometheus 2 sends with a scrape.
const prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// paced calls probe for modem i%n once every interval/n, each call on its
// own goroutine, duration×n/interval times (at least once), and returns the
// latencies of the calls that succeeded and how many failed. Call i starts
// at i×interval/n from the first, or at once if the loop is late, so a
// loaded machine neither drops nor adds calls: every side of a comparison
// makes the same number.
func paced(ctx context.Context, n int, interval, duration time.Duration, probe func(ctx context.Context, i int) error) ([]time.Duration, int) {
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failures atomic.Int32
		wg       sync.WaitGroup
	)
	step := interval / time.Duration(n)
	calls := max(int(duration/step), 1)
	t0 := time.Now()
	for i := 0; i < calls; i++ {
		wait := time.NewTimer(time.Until(t0.Add(time.Duration(i+1) * step)))
		select {
		case <-ctx.Done():
			wait.Stop()
			wg.Wait()
			return lat, int(failures.Load())
		case <-wait.C:
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

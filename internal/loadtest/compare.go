package loadtest

import (
	"context"
	"errors"
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
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// CompareOptions configure a side-by-side comparison of the exporter with
// the original Python exporter (github.com/yrro/hitron-exporter) on one
// simulated modem.
type CompareOptions struct {
	// Exporter is the path of the hitron-exporter binary.
	Exporter string
	// OriginalDir holds the original's package (hitron_exporter/) and the
	// shims it needs to run from Debian's packages; it is put on
	// PYTHONPATH and gunicorn is started there.
	OriginalDir string
	// Gunicorn is the gunicorn command (default /usr/bin/gunicorn).
	Gunicorn string
	// Latency the modem adds to every request.
	Latency time.Duration
	// DataSet the modem serves (default CGNV4-FX4, the original's model).
	DataSet string
	// Rounds of paired measurements (A B A B …) and probes per side per round.
	Rounds, Probes int
	// Log receives progress lines.
	Log io.Writer
}

// CompareRound is one pair: each side's CPU time per probe.
type CompareRound struct {
	Original, Exporter time.Duration
}

// Ratio is the original's CPU per probe over the exporter's.
func (r CompareRound) Ratio() float64 {
	if r.Exporter <= 0 {
		return 0
	}
	return float64(r.Original) / float64(r.Exporter)
}

// Compare starts one simulated modem, the exporter and the original behind
// gunicorn (one sync worker), both asked to probe the modem over pinned
// TLS, warms both up, then runs o.Rounds rounds of o.Probes sequential
// probes of the original followed by as many of the exporter, reading each
// server's CPU time (the original's whole process tree) from /proc around
// its probes.
func Compare(ctx context.Context, o CompareOptions) ([]CompareRound, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Gunicorn == "" {
		o.Gunicorn = "/usr/bin/gunicorn"
	}
	if o.DataSet == "" {
		o.DataSet = modemsim.DefaultDataSet
	}
	sim, err := modemsim.New(modemsim.Config{Password: simPassword, DataSet: o.DataSet, Latency: o.Latency, SessionIdle: time.Minute})
	if err != nil {
		return nil, err
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	defer func() { _ = sim.Close() }()
	host, port, _ := net.SplitHostPort(sim.Addr())

	dir, err := os.MkdirTemp("", "hitron-compare-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(buildConfig(dir, []*modemsim.Simulator{sim}, sim.Fingerprint(), "")), 0o600); err != nil {
		return nil, err
	}
	ours, err := testkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	exp := exec.CommandContext(ctx, o.Exporter, "--config.file="+filepath.Join(dir, "config.yml"), "--web.listen-address="+ours, "--log.level=error")
	exp.Stderr = o.Log
	if err := exp.Start(); err != nil {
		return nil, fmt.Errorf("start exporter: %w", err)
	}
	defer func() { _ = exp.Process.Kill(); _ = exp.Wait() }()

	theirs, err := testkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	gun := exec.CommandContext(ctx, o.Gunicorn, "--chdir", o.OriginalDir, "--bind", theirs, "--workers", "1", "--log-level", "warning", "hitron_exporter:app")
	gun.Env = append(os.Environ(), "PYTHONPATH="+o.OriginalDir)
	gun.Stdout, gun.Stderr = o.Log, o.Log
	if err := gun.Start(); err != nil {
		return nil, fmt.Errorf("start gunicorn: %w", err)
	}
	defer func() { _ = gun.Process.Kill(); _ = gun.Wait() }()
	for _, u := range []string{"http://" + ours + "/-/healthy", "http://" + theirs + "/"} {
		if err := waitUp(u); err != nil {
			return nil, err
		}
	}

	q := url.Values{"target": {host}, "_port": {port}, "fingerprint": {sim.Fingerprint().Hex()}, "usr": {"admin"}, "pwd": {simPassword}}
	originalURL := "http://" + theirs + "/probe?" + q.Encode()
	exporterURL := "http://" + ours + "/probe?target=" + url.QueryEscape(sim.Addr())
	client := &http.Client{Timeout: 30 * time.Second}
	// The original answers 500 when a probe fails, ours probe_success 0.
	probe := func(u, want string) error { return probeOnce(ctx, client, u, want) }
	const originalWant, exporterWant = "\nhitron_channel_downstream_snr", "\nprobe_success 1\n"
	measure := func(u, want string, pid int) (time.Duration, error) {
		before, err := treeCPUTime(pid)
		if err != nil {
			return 0, err
		}
		for range o.Probes {
			if err := probe(u, want); err != nil {
				return 0, err
			}
		}
		after, err := treeCPUTime(pid)
		if err != nil {
			return 0, err
		}
		return (after - before) / time.Duration(o.Probes), nil
	}
	// Warm-up: imports, first TLS handshakes, caches.
	for range 3 {
		if err := probe(originalURL, originalWant); err != nil {
			return nil, fmt.Errorf("original: %w", err)
		}
		if err := probe(exporterURL, exporterWant); err != nil {
			return nil, fmt.Errorf("exporter: %w", err)
		}
	}
	var rounds []CompareRound
	for i := range o.Rounds {
		var r CompareRound
		if r.Original, err = measure(originalURL, originalWant, gun.Process.Pid); err != nil {
			return rounds, fmt.Errorf("original: %w", err)
		}
		if r.Exporter, err = measure(exporterURL, exporterWant, exp.Process.Pid); err != nil {
			return rounds, fmt.Errorf("exporter: %w", err)
		}
		fmt.Fprintf(o.Log, "round %d: original %s, exporter %s per probe, %.1f×\n", i+1, r.Original.Round(time.Microsecond), r.Exporter.Round(time.Microsecond), r.Ratio())
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// CompareSummary formats the rounds' figures: each side's range and
// median, and the pairs' ratios.
func CompareSummary(rounds []CompareRound) string {
	if len(rounds) == 0 {
		return "no rounds"
	}
	var orig, ours []time.Duration
	var ratios []float64
	for _, r := range rounds {
		orig, ours, ratios = append(orig, r.Original), append(ours, r.Exporter), append(ratios, r.Ratio())
	}
	sort.Slice(orig, func(i, j int) bool { return orig[i] < orig[j] })
	sort.Slice(ours, func(i, j int) bool { return ours[i] < ours[j] })
	sort.Float64s(ratios)
	m := len(rounds) / 2
	return fmt.Sprintf("rounds=%d original_cpu_per_probe=%s (%s–%s) exporter_cpu_per_probe=%s (%s–%s) ratio=%.1f× (%.1f–%.1f×)",
		len(rounds), us(orig[m]), us(orig[0]), us(orig[len(orig)-1]), us(ours[m]), us(ours[0]), us(ours[len(ours)-1]), ratios[m], ratios[0], ratios[len(ratios)-1])
}

func us(d time.Duration) time.Duration {
	return d.Round(time.Microsecond)
}

// treeCPUTime is the CPU time of pid and its descendants (gunicorn's
// master and worker), in nanoseconds from the scheduler's accounting of
// each thread (/proc/PID/task/TID/schedstat) rather than /proc/PID/stat's
// 10 ms ticks.
func treeCPUTime(pid int) (time.Duration, error) {
	total, err := threadsCPUTime(pid)
	if err != nil {
		return 0, err
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(raw)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			d, err := treeCPUTime(child)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
			total += d
		}
	}
	return total, nil
}

// threadsCPUTime sums the on-CPU time of pid's live threads.
func threadsCPUTime(pid int) (time.Duration, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	var total time.Duration
	for _, st := range stats {
		raw, err := os.ReadFile(st)
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", st, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

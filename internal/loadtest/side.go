package loadtest

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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// A paired measurement splits a run over three processes so that each
// client's CPU time is its whole process's, as an outside timer (for
// example /usr/bin/time -v) accounts it: a long-lived modems process
// (ServeModems) holds the simulated modems and the driver that plays
// Prometheus, and each measured side (Side) is one short process that
// probes them on a fixed schedule and exits: the exporter (Side starts it
// as its child and has the modems process drive it), or the raw client,
// which makes the same exchanges itself. Run the sides in turn, A B A B,
// against the same modems process, and take the CPU ratio pair by pair.

// ModemsOptions configure the modems process.
type ModemsOptions struct {
	// Modems is how many simulated modems to start.
	Modems int
	// Latency and LatencyTail are the modems' latency model (modem i's
	// tail is seeded with i+1).
	Latency     time.Duration
	LatencyTail modemsim.LongTail
	// DataSet served by the modems.
	DataSet string
	// Dialect is the modems' login dialect ("" is cgn), which the
	// configuration's targets name too.
	Dialect string
	// Dir receives config.yml (an exporter configuration naming every
	// modem), credentials.yml and modems.json (ModemsFile).
	Dir string
	// Control is the loopback address the driver listens on.
	Control string
	// Log receives progress lines.
	Log io.Writer
}

// ModemsFile describes a running modems process to the sides.
type ModemsFile struct {
	Addrs       []string `json:"addrs"`
	Fingerprint string   `json:"fingerprint"`
	Password    string   `json:"password"`
	Control     string   `json:"control"`
	Dialect     string   `json:"dialect,omitempty"`
}

// modemsFileName is the name of the ModemsFile in ModemsOptions.Dir.
const modemsFileName = "modems.json"

// SideResult is what one measured side did.
type SideResult struct {
	Side     string        `json:"side"`
	Probes   int           `json:"probes"`
	Failures int           `json:"failures"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
}

// String formats the result on one line.
func (r SideResult) String() string {
	return fmt.Sprintf("side=%s probes=%d failures=%d p50=%s p99=%s", r.Side, r.Probes, r.Failures, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond))
}

func sideResult(side string, lat []time.Duration, failures int) SideResult {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return SideResult{Side: side, Probes: len(lat) + failures, Failures: failures, P50: percentile(lat, 0.50), P99: percentile(lat, 0.99)}
}

// ServeModems starts the simulated modems, writes the files the sides
// read, and serves the driver on o.Control until ctx ends. The driver
// answers POST /drive?base=URL&interval=D&duration=D (the exporter at URL
// probed on the loadtest schedule, a warm-up interval first) and POST
// /sequential?base=URL&kind=exporter|original&probes=N (N probes of the
// first modem one after another, three warm-up probes first) with a
// SideResult.
func ServeModems(ctx context.Context, o ModemsOptions) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	sims, fp, err := startModems(o.Modems, o.Latency, o.LatencyTail, o.DataSet, o.Dialect)
	defer closeModems(sims)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "config.yml"), []byte(buildConfig(o.Dir, sims, fp, o.Dialect)), 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Control)
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	mf := ModemsFile{Fingerprint: fp.Hex(), Password: simPassword, Control: ln.Addr().String(), Dialect: o.Dialect}
	for _, s := range sims {
		mf.Addrs = append(mf.Addrs, s.Addr())
	}
	raw, err := json.Marshal(mf)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, modemsFileName), raw, 0o600); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /drive", func(w http.ResponseWriter, r *http.Request) {
		interval, err1 := time.ParseDuration(r.FormValue("interval"))
		duration, err2 := time.ParseDuration(r.FormValue("duration"))
		base := r.FormValue("base")
		if err := errors.Join(err1, err2); err != nil || base == "" {
			http.Error(w, "base, interval and duration are required", http.StatusBadRequest)
			return
		}
		wl, wf := drive(r.Context(), client, base, sims, interval, interval)
		lat, f := drive(r.Context(), client, base, sims, interval, duration)
		_ = json.NewEncoder(w).Encode(sideResult("exporter", append(lat, wl...), f+wf))
	})
	mux.HandleFunc("POST /sequential", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.FormValue("probes"))
		base, kind := r.FormValue("base"), r.FormValue("kind")
		if err != nil || n < 1 || base == "" {
			http.Error(w, "base and probes are required", http.StatusBadRequest)
			return
		}
		u, want := base+"/probe?target="+url.QueryEscape(sims[0].Addr()), "\nprobe_success 1\n"
		if kind == "original" {
			host, port, _ := net.SplitHostPort(sims[0].Addr())
			q := url.Values{"target": {host}, "_port": {port}, "fingerprint": {fp.Hex()}, "usr": {"admin"}, "pwd": {simPassword}}
			u, want = base+"/probe?"+q.Encode(), "\nhitron_channel_downstream_snr"
		}
		var lat []time.Duration
		failures := 0
		for i := range n + 3 {
			start := time.Now()
			if err := probeOnce(r.Context(), client, u, want); err != nil {
				failures++
				fmt.Fprintln(o.Log, err)
				continue
			}
			if i >= 3 {
				lat = append(lat, time.Since(start))
			}
		}
		_ = json.NewEncoder(w).Encode(sideResult(kind, lat, failures))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(o.Log, "%d simulated modems; driver on %s; files in %s\n", len(sims), ln.Addr(), o.Dir)
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// probeOnce asks u for one probe; the answer must be 200 and contain want.
func probeOnce(ctx context.Context, client *http.Client, u, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("probe %s: %s, no %q in the answer", strings.SplitN(u, "?", 2)[0], resp.Status, want)
	}
	return nil
}

// SideOptions configure one measured side.
type SideOptions struct {
	// Dir is the modems process's ModemsOptions.Dir.
	Dir string
	// Side is "exporter" (Command is started with the modems' config and
	// driven on the schedule), "raw" (the raw client makes the exchanges
	// on the schedule in this process), "http-floor" (a server that waits
	// FloorWait and sends a fixed answer of a probe's size), "raw-server"
	// (the same server making the raw client's exchanges instead of
	// waiting), or "sequential-exporter" /
	// "sequential-original" (Command is started and probed Probes times
	// one after another; for the original, Command runs in OriginalDir).
	Side string
	// Command is the server to start: the exporter binary, or for the
	// original, the gunicorn command.
	Command string
	// OriginalDir holds the original's package and shims (see
	// scripts/compare-python.sh).
	OriginalDir string
	// Interval and Duration are the schedule; Probes the sequential count.
	Interval, Duration time.Duration
	Probes             int
	// FloorWait is how long the floor server waits before each answer
	// (0: DefaultFloorWait).
	FloorWait time.Duration
	// ExporterArgs are added to the exporter's command line.
	ExporterArgs []string
	// Log receives the started server's output.
	Log io.Writer
}

// Side runs one measured side against a running modems process and
// returns what it did. The server it starts is its child, stopped with
// SIGTERM and waited for before Side returns, so its CPU time is counted
// in this process's children's.
func Side(ctx context.Context, o SideOptions) (SideResult, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	mf, err := readModemsFile(filepath.Join(o.Dir, modemsFileName))
	if err != nil {
		return SideResult{}, err
	}
	if o.Side == "raw" {
		modems, err := mf.rawModems()
		if err != nil {
			return SideResult{}, err
		}
		exchange := func(ctx context.Context, i int) error { return modems[i].exchange(ctx, mf.Password) }
		wl, wf := paced(ctx, len(modems), o.Interval, o.Interval, exchange)
		lat, f := paced(ctx, len(modems), o.Interval, o.Duration, exchange)
		return sideResult("raw", append(lat, wl...), f+wf), nil
	}
	addr, err := testkit.FreeAddr()
	if err != nil {
		return SideResult{}, err
	}
	var cmd *exec.Cmd
	health := "http://" + addr + "/-/healthy"
	switch o.Side {
	case "exporter", "sequential-exporter":
		cmd = exec.CommandContext(ctx, o.Command, append([]string{"--config.file=" + filepath.Join(o.Dir, "config.yml"), "--web.listen-address=" + addr, "--log.level=error"}, o.ExporterArgs...)...)
	case "http-floor":
		wait := o.FloorWait
		if wait <= 0 {
			wait = DefaultFloorWait
		}
		cmd = exec.CommandContext(ctx, o.Command, "floor-server", "--web.listen-address="+addr, "--floor.wait="+wait.String())
	case "raw-server":
		cmd = exec.CommandContext(ctx, o.Command, "floor-server", "--web.listen-address="+addr, "--floor.modems="+filepath.Join(o.Dir, modemsFileName))
	case "sequential-original":
		cmd = exec.CommandContext(ctx, o.Command, "--chdir", o.OriginalDir, "--bind", addr, "--workers", "1", "--log-level", "warning", "hitron_exporter:app")
		cmd.Env = append(os.Environ(), "PYTHONPATH="+o.OriginalDir)
		health = "http://" + addr + "/"
	default:
		return SideResult{}, fmt.Errorf("unknown side %q", o.Side)
	}
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	if err := cmd.Start(); err != nil {
		return SideResult{}, fmt.Errorf("start %s: %w", o.Command, err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitUp(health); err != nil {
		return SideResult{}, err
	}
	floorServer := o.Side == "http-floor" || o.Side == "raw-server"
	form := url.Values{"base": {"http://" + addr}}
	path := "/drive"
	if o.Side == "exporter" || floorServer {
		form.Set("interval", o.Interval.String())
		form.Set("duration", o.Duration.String())
	} else {
		path = "/sequential"
		form.Set("kind", strings.TrimPrefix(o.Side, "sequential-"))
		form.Set("probes", strconv.Itoa(o.Probes))
	}
	resp, err := http.PostForm("http://"+mf.Control+path, form)
	if err != nil {
		return SideResult{}, fmt.Errorf("driver: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var res SideResult
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return res, fmt.Errorf("driver: %s: %s", resp.Status, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, fmt.Errorf("driver: %w", err)
	}
	if floorServer {
		res.Side = o.Side // the driver drove it as it drives an exporter
	}
	// Stop the server the way a service manager does and wait for it, so
	// its CPU time is accounted to this process's children.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return res, nil
}

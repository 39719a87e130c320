package loadtest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/hitron"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

// RawWorkerOptions configure the raw baseline worker.
type RawWorkerOptions struct {
	// Fingerprint every simulated modem's certificate has.
	Fingerprint pin.Fingerprint
	// Password the simulated modems accept for admin.
	Password string
	// Interval and Duration: the same schedule the exporter is driven with.
	Interval, Duration time.Duration
	// Dialect is the modems' login dialect ("" is cgn).
	Dialect string
}

// RawWorkerArgs are the arguments that hand o to RawWorkerMain.
func RawWorkerArgs(o RawWorkerOptions) []string {
	return []string{"-fingerprint=" + o.Fingerprint.Hex(), "-password=" + o.Password,
		"-interval=" + o.Interval.String(), "-duration=" + o.Duration.String(), "-dialect=" + o.Dialect}
}

// RawWorkerMain runs RawWorker on standard input and output with the
// options RawWorkerArgs wrote: the body of a worker process.
func RawWorkerMain(args []string) error {
	fs := flag.NewFlagSet("raw-worker", flag.ContinueOnError)
	fp := fs.String("fingerprint", "", "the simulated modems' certificate fingerprint")
	password := fs.String("password", "", "the simulated modems' password")
	interval := fs.Duration("interval", 15*time.Second, "how often each modem is probed")
	duration := fs.Duration("duration", 30*time.Second, "how long the run measures")
	dialect := fs.String("dialect", "", "the simulated modems' login dialect (default cgn)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := pin.Parse(*fp)
	if err != nil {
		return fmt.Errorf("raw worker: %w", err)
	}
	return RawWorker(context.Background(), os.Stdin, os.Stdout, RawWorkerOptions{Fingerprint: f, Password: *password, Interval: *interval, Duration: *duration,
		Dialect: *dialect})
}

// rawResult is what the worker reports on its standard output.
type rawResult struct {
	Latencies []time.Duration `json:"latencies_ns"`
	Failures  int             `json:"failures"`
}

// RawWorker is the baseline half of a run, meant to run in its own process
// so its CPU time can be measured like the exporter's. It reads modem
// addresses from in, one per line, up to an empty line; writes "ready";
// waits for a "start" line; makes one warm-up exchange with every modem over
// one interval; writes "measuring"; then makes the probe's HTTP exchanges (GET /,
// login, the default pages, logout, over pinned TLS with per-modem session
// resumption, skipping pages a modem answered 404) against every modem on
// the same schedule the exporter is driven with, writes the latencies as one
// JSON line, and returns when in reaches EOF. It is the cheapest Go client
// for the device's API: the floor the exporter's CPU is compared with.
func RawWorker(ctx context.Context, in io.Reader, out io.Writer, o RawWorkerOptions) error {
	sc := bufio.NewScanner(in)
	var addrs []string
	for sc.Scan() && sc.Text() != "" {
		addrs = append(addrs, strings.TrimSpace(sc.Text()))
	}
	if len(addrs) == 0 {
		return errors.New("raw worker: no modem addresses on standard input")
	}
	dialect, err := rawDialect(o.Dialect)
	if err != nil {
		return err
	}
	modems := newRawModems(addrs, o.Fingerprint, dialect)
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	if !sc.Scan() || sc.Text() != "start" {
		return errors.New("raw worker: expected a start line")
	}
	exchange := func(ctx context.Context, i int) error { return modems[i].exchange(ctx, o.Password) }
	// Warm up as the exporter is: one exchange with every modem.
	paced(ctx, len(modems), o.Interval, o.Interval, exchange)
	if _, err := fmt.Fprintln(out, "measuring"); err != nil {
		return err
	}
	var res rawResult
	res.Latencies, res.Failures = paced(ctx, len(modems), o.Interval, o.Duration, exchange)
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, in) // the parent reads our CPU time, then closes
	return nil
}

// rawDialect is the login dialect named name ("" is cgn).
func rawDialect(name string) (hitron.Dialect, error) {
	if name == "" {
		name = hitron.DialectCGN
	}
	d, err := hitron.DialectByName(name, "")
	if err != nil {
		return nil, fmt.Errorf("raw worker: %w", err)
	}
	return d, nil
}

// newRawModems is the raw client's state for the modems at addrs, whose
// certificates have the fingerprint fp and which speak dialect.
func newRawModems(addrs []string, fp pin.Fingerprint, dialect hitron.Dialect) []*rawModem {
	modems := make([]*rawModem, len(addrs))
	for i, a := range addrs {
		modems[i] = &rawModem{addr: a, dialect: dialect, tls: pin.ClientConfig(pin.Options{Pin: pin.Require(fp), SessionCache: tls.NewLRUClientSessionCache(1)}), missing: map[hitron.Dataset]bool{}}
	}
	return modems
}

// rawModems is the raw client's state for mf's modems.
func (mf ModemsFile) rawModems() ([]*rawModem, error) {
	fp, err := pin.Parse(mf.Fingerprint)
	if err != nil {
		return nil, err
	}
	dialect, err := rawDialect(mf.Dialect)
	if err != nil {
		return nil, err
	}
	return newRawModems(mf.Addrs, fp, dialect), nil
}

// rawModem is the state a minimal client keeps per modem.
type rawModem struct {
	addr    string
	dialect hitron.Dialect
	tls     *tls.Config
	mu      sync.Mutex
	missing map[hitron.Dataset]bool
}

// exchange makes one probe's HTTP exchanges.
func (m *rawModem) exchange(ctx context.Context, password string) error {
	m.mu.Lock() // one session per modem, as the device requires
	defer m.mu.Unlock()
	c, err := hitron.New(hitron.Options{BaseURL: &url.URL{Scheme: "https", Host: m.addr}, TLS: m.tls})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Login(ctx, m.dialect, hitron.Credentials{Username: "admin", Password: password})
	if err != nil {
		return err
	}
	var firstErr error
	for _, ds := range hitron.DefaultDatasets {
		if m.missing[ds] {
			continue
		}
		_, err := s.Fetch(ctx, ds)
		switch {
		case errors.Is(err, hitron.ErrNotFound):
			m.missing[ds] = true
		case err != nil && firstErr == nil:
			firstErr = err
		}
	}
	if err := s.Logout(ctx, 5*time.Second); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// runRawWorker starts the worker command, feeds it the modems, and measures
// its CPU time over the driven window.
func runRawWorker(ctx context.Context, command []string, addrs []string) (rawResult, time.Duration, error) {
	var res rawResult
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return res, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, 0, err
	}
	if err := cmd.Start(); err != nil {
		return res, 0, fmt.Errorf("start raw worker: %w", err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	if _, err := io.WriteString(stdin, strings.Join(addrs, "\n")+"\n\n"); err != nil {
		return res, 0, fmt.Errorf("raw worker: %w", err)
	}
	rd := bufio.NewReader(stdout)
	if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
		return res, 0, fmt.Errorf("raw worker did not get ready: %q %v", line, err)
	}
	if _, err := io.WriteString(stdin, "start\n"); err != nil {
		return res, 0, fmt.Errorf("raw worker: %w", err)
	}
	if line, err := rd.ReadString('\n'); err != nil || line != "measuring\n" {
		return res, 0, fmt.Errorf("raw worker did not warm up: %q %v", line, err)
	}
	before, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return res, 0, err
	}
	line, err := rd.ReadBytes('\n')
	if err != nil {
		return res, 0, fmt.Errorf("raw worker result: %w", err)
	}
	after, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return res, 0, err
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return res, 0, fmt.Errorf("raw worker result: %w", err)
	}
	return res, after - before, nil
}

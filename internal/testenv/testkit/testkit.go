// Package testkit holds the small helpers the tests of several packages
// share, each defined once: a free loopback port, a private file, a log
// buffer safe for concurrent writers (and a debug logger writing to one),
// a running modem simulator, and a test for a line of an exposition.
//
// It does not import package testing (the load-test binary links it): the
// helpers that fail a test take a TB, which *testing.T and *testing.B
// satisfy.
package testkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/hitron-exporter/hitron-exporter/internal/logging"
	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// FreeAddr returns a host:port on 127.0.0.1 that was free a moment ago: a
// listen address for a child process, or an address where nothing listens.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// FreePort is FreeAddr's port.
func FreePort() (int, error) {
	addr, err := FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return strconv.Atoi(port)
}

// MustFreeAddr is FreeAddr, failing the test on error.
func MustFreeAddr(t TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// WriteFile writes body to a file at path readable only by its owner (the
// mode credential files need) and returns path.
func WriteFile(t TB, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// LogBuffer collects log output that several goroutines (or a child
// process's stdout and stderr) write at once.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartSim starts a simulated modem on a free loopback port; it is closed
// when the test ends.
func StartSim(t TB, cfg modemsim.Config) *modemsim.Simulator {
	t.Helper()
	sim, err := modemsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// DebugLogger is a logger at debug level, in the exporter's logfmt, whose
// output the returned buffer collects (a test checks no secret is in it).
func DebugLogger(t TB) (*zap.Logger, *LogBuffer) {
	t.Helper()
	logs := &LogBuffer{}
	log, err := logging.New("debug", "logfmt", logs)
	if err != nil {
		t.Fatal(err)
	}
	return log, logs
}

// HasLine reports whether body (an exposition, a log) has a line that is
// exactly line.
func HasLine(body, line string) bool {
	return slices.Contains(strings.Split(body, "\n"), line)
}

// ScrapeAccepts returns the Accept headers scrapers send to an exporter,
// by scraper ("none": no header).
func ScrapeAccepts() map[string]string {
	return map[string]string{
		"none":         "",
		"prometheus 2": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		"prometheus 3": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
		"text 1.0.0":   "text/plain;version=1.0.0;escaping=underscores",
		"protobuf":     "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,text/plain;version=0.0.4;q=0.5",
		"curl":         "*/*",
	}
}

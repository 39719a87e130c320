package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
)

// fetch is exporter.do for subtests: it fails t (not the test that started
// the exporter) and checks that no secret is in the answer.
func (e *exporter) fetch(t *testing.T, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	for _, s := range e.secrets {
		if strings.Contains(string(body), s) {
			t.Fatalf("GET %s: the answer contains a secret", path)
		}
	}
	return resp.StatusCode, string(body)
}

// metricValue returns the value of the sample whose name and labels are
// exactly series (as the text exposition format writes them).
func metricValue(body, series string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// samples returns the lines of body whose series starts with prefix.
func samples(body, prefix string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// vmHWM returns the peak resident set size of process pid in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read the exporter's /proc status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				t.Fatalf("unexpected VmHWM line %q", l)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// goroutines reads go_goroutines from the exporter's /metrics.
func (e *exporter) goroutines(t *testing.T) float64 {
	t.Helper()
	_, body := e.fetch(t, "/metrics", nil)
	v, ok := metricValue(body, "go_goroutines")
	if !ok {
		t.Fatal("/metrics has no go_goroutines")
	}
	return v
}

// tcpServer accepts loopback connections and hands each to serve, which
// must close it. It stops at test cleanup.
func tcpServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// notTLSEndpoints starts loopback servers on which a TLS handshake fails:
// one that closes every connection at once, one that answers non-TLS bytes,
// a plain HTTP server, and a TLS server that only speaks TLS 1.0.
func notTLSEndpoints(t *testing.T) (closer, junk, plainHTTP, tls10 string) {
	t.Helper()
	closer = tcpServer(t, func(c net.Conn) { _ = c.Close() })
	junk = tcpServer(t, func(c net.Conn) {
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login.html", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	plainHTTP = srv.Listener.Addr().String()

	cert, err := modemsim.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	old := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10} //nolint:gosec // the old firmware being simulated
	tsrv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second, TLSConfig: old,
		ErrorLog: log.New(io.Discard, "", 0)} // the failed handshakes are the point
	go func() { _ = tsrv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = tsrv.Close() })
	return closer, junk, plainHTTP, ln.Addr().String()
}

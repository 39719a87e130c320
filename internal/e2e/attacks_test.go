package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/hitron-exporter/hitron-exporter/internal/testenv/testkit"
)

// openFDs counts the exporter process's open file descriptors.
func (e *exporter) openFDs() int {
	e.t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.cmd.Process.Pid))
	if err != nil {
		e.t.Fatal(err)
	}
	return len(fds)
}

// idleConnection makes one request on a new connection, reads the answer
// and keeps the connection open without another request, as a flood of
// idle keep-alive connections does. The caller closes it.
func idleConnection(t *testing.T, addr, header string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: %s\r\n%s\r\n", addr, header); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		// The limiter may already have closed it to make room.
		return c
	}
	_ = resp.Body.Close()
	return c
}

// TestIdleConnectionFlood: 20,000 idle keep-alive connections used to take
// every file descriptor (accept4: too many open files), /metrics and
// /probe stopped answering, and the connections were still open 75 s
// later; 401'd connections (basic auth) stayed open too. Now the
// connections are capped (--web.max-connections, the longest idle closed
// to make room), /metrics answers during the flood, and the exporter
// closes idle connections by itself after --web.read-timeout.
func TestIdleConnectionFlood(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		webUsers bool
	}{
		{"no authentication", false},
		{"basic auth, every flood request answered 401", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const maxConns, flood = 64, 400
			args := []string{"--web.max-connections=64", "--web.read-timeout=2s"}
			if tt.webUsers {
				web := testkit.WriteFile(t, filepath.Join(t.TempDir(), "web.yml"), "basic_auth_users:\n  prometheus: "+string(hash)+"\n")
				args = append(args, "--web.config.file="+web)
			}
			e := startExporter(t, []string{"scrape-pass"}, args...)
			baseline := e.openFDs()
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					_ = c.Close()
				}
			}()
			for i := 0; i < flood; i++ {
				conns = append(conns, idleConnection(t, e.addr, ""))
			}
			if n := e.openFDs(); n > baseline+maxConns+8 {
				t.Fatalf("%d file descriptors open during a flood of %d idle connections (baseline %d, cap %d)", n, flood, baseline, maxConns)
			}
			// The exporter still answers during the flood.
			code, body := e.do(http.MethodGet, "/metrics", nil, "prometheus", "scrape-pass")
			if code != http.StatusOK {
				t.Fatalf("/metrics during the flood: HTTP %d", code)
			}
			if !strings.Contains(body, `hitron_exporter_http_connections_limited_total{state="idle"}`) {
				t.Error("the connections closed to make room are not counted")
			}
			// The flood's senders keep their sockets; the exporter closes
			// them by itself once they have been idle for the read timeout.
			time.Sleep(3500 * time.Millisecond)
			if n := e.openFDs(); n > baseline+4 {
				t.Fatalf("%d file descriptors open %s after the flood (baseline %d): idle connections are not reclaimed", n, 3500*time.Millisecond, baseline)
			}
		})
	}
}

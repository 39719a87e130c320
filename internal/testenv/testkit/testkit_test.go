package testkit

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
	"github.com/hitron-exporter/hitron-exporter/internal/pin"
)

func TestFreeAddrIsFreeLoopback(t *testing.T) {
	addr := MustFreeAddr(t)
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr = %q (%v), want 127.0.0.1:port", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the free address cannot be listened on: %v", err)
	}
	_ = l.Close()
	if port, err := FreePort(); err != nil || port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d, %v", port, err)
	}
}

func TestWriteFileIsPrivate(t *testing.T) {
	p := WriteFile(t, filepath.Join(t.TempDir(), "creds.yml"), "password: x\n")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestLogBufferTakesConcurrentWriters(t *testing.T) {
	var b LogBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				_, _ = b.Write([]byte("line\n"))
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "line\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
}

func TestStartSimServesAndCloses(t *testing.T) {
	// The check asks the simulator itself whether a request reached it: a
	// dial alone cannot tell, since another test may already listen on the
	// port the closed simulator freed.
	var sim *modemsim.Simulator
	var served int
	t.Run("started", func(t *testing.T) {
		sim = StartSim(t, modemsim.Config{})
		if err := askSim(sim); err != nil {
			t.Fatalf("the simulator does not answer: %v", err)
		}
		if served = sim.Stats().Requests; served == 0 {
			t.Fatal("the simulator answered but counted no request")
		}
	})
	_ = askSim(sim) // fails unless the simulator still serves
	if n := sim.Stats().Requests; n != served {
		t.Fatalf("the simulator still serves after its test ended (%d requests, %d before)", n, served)
	}
}

// askSim sends GET / to sim's address, trusting only sim's certificate.
func askSim(sim *modemsim.Simulator) error {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: pin.ClientConfig(pin.Options{Pin: pin.Require(sim.Fingerprint())})},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Get(sim.URL() + "/")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func TestHasLine(t *testing.T) {
	body := "probe_success 1\nprobe_duration_seconds 0.5\n"
	tests := []struct {
		line string
		want bool
	}{
		{"probe_success 1", true},
		{"probe_success", false}, // a prefix is not the line
		{"success 1", false},
		{"probe_duration_seconds 0.5", true},
	}
	for _, tt := range tests {
		if got := HasLine(body, tt.line); got != tt.want {
			t.Errorf("HasLine(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

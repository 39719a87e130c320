package testkit

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hitron-exporter/hitron-exporter/internal/modemsim"
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
	var addr string
	t.Run("started", func(t *testing.T) {
		addr = StartSim(t, modemsim.Config{}).Addr()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("the simulator does not listen: %v", err)
		}
		_ = c.Close()
	})
	if c, err := net.Dial("tcp", addr); err == nil {
		_ = c.Close()
		t.Fatal("the simulator still listens after its test ended")
	}
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

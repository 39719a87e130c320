package demo

import (
	"net"
	"testing"
)

// TestListenAvoidingSkipsTheExportersPorts: the demo modem starts before
// the exporter binds its listen address, so a free port the kernel hands
// the modem may be that very address (a test's "free" port, just closed).
// The modem must take another and leave that one free.
func TestListenAvoidingSkipsTheExportersPorts(t *testing.T) {
	tests := []struct {
		name  string
		avoid func(offered []net.Listener) []string
		want  int // index of the offered listener returned
	}{
		{"no address to avoid", func([]net.Listener) []string { return nil }, 0},
		{"a port of another address", func(o []net.Listener) []string { return []string{"127.0.0.1:1"} }, 0},
		{"the first port offered", func(o []net.Listener) []string { return []string{o[0].Addr().String()} }, 1},
		{"the first two, on any host", func(o []net.Listener) []string {
			_, p0, _ := net.SplitHostPort(o[0].Addr().String())
			return []string{"[::1]:" + p0, o[1].Addr().String()}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var offered []net.Listener
			for range 3 {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = l.Close() })
				offered = append(offered, l)
			}
			next := 0
			listen := func() (net.Listener, error) { next++; return offered[next-1], nil }
			got, err := listenAvoiding(tt.avoid(offered), listen)
			if err != nil {
				t.Fatal(err)
			}
			if got != offered[tt.want] {
				t.Fatalf("got the listener on %s, want %s", got.Addr(), offered[tt.want].Addr())
			}
			for i := range tt.want {
				// A port skipped is released again for the exporter.
				if l, err := net.Listen("tcp", offered[i].Addr().String()); err != nil {
					t.Errorf("skipped port %s still held: %v", offered[i].Addr(), err)
				} else {
					_ = l.Close()
				}
			}
		})
	}
}

func TestStartAvoidsTheGivenAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	d, err := Start("", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	if d.Sim.Addr() == addr {
		t.Fatalf("the demo modem took %s, the exporter's address", addr)
	}
}

//go:build pprof

package main

// Built with -tags pprof, the exporter serves net/http/pprof on the
// loopback address in HITRON_EXPORTER_PPROF (for profiling under the load
// harness, see docs/performance.md); the default build has no such code.

import (
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"time"
)

func init() {
	addr := os.Getenv("HITRON_EXPORTER_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		panic("HITRON_EXPORTER_PPROF must be a loopback host:port")
	}
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}

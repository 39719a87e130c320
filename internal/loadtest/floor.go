package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The HTTP floor is the third side of a paired measurement: a server that
// answers every /probe, after the time a probe takes, with a fixed answer
// of a probe's size, and does nothing else. Driven like the exporter, its
// CPU is what serving the scrapes alone costs with net/http, the floor
// under any exporter's cost beyond the raw client's exchanges.
//
// Given the modems (--floor.modems), the same server is the raw server: it
// makes the raw client's exchanges with the target instead of waiting, then
// sends the same fixed answer. It is the cheapest exporter net/http allows,
// one that reads the pages and does nothing with them, in one process.

// DefaultFloorWait is how long the floor server waits before an answer
// unless told: about a probe's time at 20 ms per request.
const DefaultFloorWait = 200 * time.Millisecond

// floorSamples and floorLabelWidth size the floor's answer like a
// CGNV4-FX4 probe's: about 300 samples, 21 KB.
const (
	floorSamples    = 300
	floorLabelWidth = 22
)

// FloorAnswer is the floor server's answer: floorSamples samples in text
// exposition format, probe_success 1 among them.
func FloorAnswer() []byte {
	b := []byte("# HELP probe_success Whether the probe succeeded.\n# TYPE probe_success gauge\nprobe_success 1\n" +
		"# HELP hitron_floor_sample A sample of the floor's fixed answer.\n# TYPE hitron_floor_sample gauge\n")
	pad := strings.Repeat("x", floorLabelWidth)
	for i := 1; i < floorSamples; i++ {
		b = append(b, `hitron_floor_sample{channel="`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `",pad="`...)
		b = append(b, pad...)
		b = append(b, `"} `...)
		b = strconv.AppendFloat(b, float64(i)+0.25, 'g', -1, 64)
		b = append(b, '\n')
	}
	return b
}

// FloorServerMain is the body of the floor server's process: it takes the
// exporter's --web.listen-address (and ignores its --config.file and
// --log.level), waits --floor.wait before each answer, and serves until
// SIGTERM.
func FloorServerMain(args []string) error {
	fs := flag.NewFlagSet("floor-server", flag.ContinueOnError)
	addr := fs.String("web.listen-address", "127.0.0.1:9938", "loopback address to listen on")
	fs.String("config.file", "", "ignored: the exporter's flag")
	fs.String("log.level", "", "ignored: the exporter's flag")
	wait := fs.Duration("floor.wait", DefaultFloorWait, "how long each /probe waits before its answer")
	modemsFile := fs.String("floor.modems", "", "a modems process's modems.json: make the raw exchanges with the target instead of waiting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	handler := FloorHandler(*wait)
	if *modemsFile != "" {
		mf, err := readModemsFile(*modemsFile)
		if err != nil {
			return fmt.Errorf("floor server: %w", err)
		}
		if handler, err = RawServerHandler(mf); err != nil {
			return fmt.Errorf("floor server: %w", err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("floor server: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// FloorHandler serves /-/healthy and /probe (FloorAnswer after wait).
func FloorHandler(wait time.Duration) http.Handler {
	return answeringAfter(func(r *http.Request) int {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			return http.StatusOK
		case <-r.Context().Done():
			return 0
		}
	})
}

// RawServerHandler serves /-/healthy and /probe?target=ADDR: the raw
// client's exchanges with the modem at ADDR, one of mf's, then FloorAnswer
// (a failed exchange answers 502, an unknown target 404, with no body).
func RawServerHandler(mf ModemsFile) (http.Handler, error) {
	all, err := mf.rawModems()
	if err != nil {
		return nil, err
	}
	modems := make(map[string]*rawModem, len(all))
	for _, m := range all {
		modems[m.addr] = m
	}
	return answeringAfter(func(r *http.Request) int {
		m := modems[r.URL.Query().Get("target")]
		if m == nil {
			return http.StatusNotFound
		}
		if err := m.exchange(r.Context(), mf.Password); err != nil {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}), nil
}

// answeringAfter serves /-/healthy, and /probe with FloorAnswer when
// before returns 200; with no body and before's status otherwise (none
// when it returns 0: the client has gone).
func answeringAfter(before func(r *http.Request) int) http.Handler {
	answer := FloorAnswer()
	length := strconv.Itoa(len(answer))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK\n")) })
	mux.HandleFunc("GET /probe", func(w http.ResponseWriter, r *http.Request) {
		if status := before(r); status != http.StatusOK {
			if status != 0 {
				w.WriteHeader(status)
			}
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", length)
		_, _ = w.Write(answer)
	})
	return mux
}

// readModemsFile reads a modems process's ModemsFile.
func readModemsFile(path string) (ModemsFile, error) {
	var mf ModemsFile
	raw, err := os.ReadFile(path)
	if err != nil {
		return mf, fmt.Errorf("modems process: %w", err)
	}
	if err := json.Unmarshal(raw, &mf); err != nil {
		return mf, fmt.Errorf("%s: %w", path, err)
	}
	return mf, nil
}
